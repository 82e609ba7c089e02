"""The screens: reading list, trending, search, paper, chat, profile, help and small dialogs."""
