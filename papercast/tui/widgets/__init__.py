"""Reusable widgets: the paper list, the status bar and the chat log pieces."""
