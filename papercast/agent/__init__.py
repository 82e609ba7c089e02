"""The agent: the chat graph and the daily graph (LangGraph), over the library the service hands in.

Importing this package is free: langgraph and litellm load only when a graph runs. ``port``: what
the agent uses of the service (``Library``); ``events``: what callers see; ``state``, ``context``: the
graphs' states and a chat run's settings; ``graph``: the chat graph, compiled once; ``chat``: a turn on
a stored thread, streamed; ``turn``: a thread's current turn as a ``ChatAnswer``; ``llm_node``: the
model call; ``offline``: the planner without a model; ``grounding``: retrieval and citation checks;
``prompts``; ``tool_types``, ``toolbox`` (the read-only tools), ``changes`` (the state-changing ones)
and ``tool_node`` (runs them); ``daily``: the daily pipeline and its delivery.
"""
