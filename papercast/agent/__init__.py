"""The agent: the chat graph and the daily graph (LangGraph), over the library the service hands in.

Modules (importing this package is free; langgraph and litellm load only when a graph runs):

* ``port``       ``Library``: what the agent uses of the service, and nothing more
* ``events``     what callers see: ``ChatEvent`` (a turn's stream) and ``DailyReport`` (light)
* ``state``      the graphs' states; ``context``: ``ChatContext``, what a chat run reads via ``Runtime``
* ``graph``      the chat graph: module-level nodes and routers, compiled once
* ``chat``       running a turn on a persisted thread (``store.threads``), streamed as events
* ``turn``       reading a thread's current turn: its start, proposals, citations, its ``ChatAnswer``
* ``llm_node``   the model: settings, the thread as OpenAI messages, trimming, one streamed call
* ``offline``    the planner that answers without a model (retrieval + command patterns)
* ``grounding``  every turn's library retrieval, and the check of each answer's citations
* ``prompts``    the system prompt and the ``<tool_output>`` delimiting of untrusted text
* ``tool_types`` what a tool is: read-only ``run``, or ``propose`` + ``apply`` for a change
* ``toolbox``    the read-only tools and the registry; ``changes``: the state-changing ones
* ``tool_node``  runs a step's calls (changes become proposals), applies what the user confirmed
* ``daily``      the daily pipeline (fetch -> store -> rank -> summarize -> digest) and its delivery
"""
