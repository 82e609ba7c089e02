"""The agent: the chat graph and the daily graph (LangGraph), driven through ``papercast.service``.

Modules (importing this package is free; langgraph and litellm load only when a graph runs):

* ``state``     graph states, ``ChatEvent``, ``DailyReport`` (light; ``ChatAnswer`` is in ``models``)
* ``prompts``   the system prompt and the ``<tool_output>`` delimiting of tool results
* ``toolbox``   the LLM's tools: typed thin wrappers over the service
* ``tool_types`` what a tool is: read-only ``run``, or ``propose`` + ``apply`` for a change
* ``changes``   the state-changing tools: proposals the user confirms, applied and undone
* ``tool_node`` runs a step's tool calls (changes become proposals) and applies what the user confirmed
* ``llm_node``  the model call (through ``papercast.tools.llm.client``), context-window trimming
* ``grounding`` every turn's library retrieval, and the check of each answer's citations
* ``offline``   the planner that answers without a model (retrieval + command patterns)
* ``graph``     the two graphs' wiring
* ``chat``      a turn on a persisted thread (``store.threads``), streamed as events
* ``daily``     the daily pipeline's nodes and ``run_daily`` (write / email the digest)
"""
