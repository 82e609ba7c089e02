"""The agent: the chat graph and the daily graph (LangGraph), driven through ``papercast.service``.

Modules (importing this package is free; langgraph and litellm load only when a graph runs):

* ``state``     graph states, ``ChatEvent``, ``DailyReport`` (light; ``ChatAnswer`` is in ``models``)
* ``prompts``   the system prompt and the ``<tool_output>`` delimiting of tool results
* ``toolbox``   the LLM's tools: typed thin wrappers over the service
* ``guard``     state-changing tool calls must be licensed by the user's latest message
* ``tool_node`` runs a step's tool calls; every failure becomes a message for the model
* ``llm_node``  the model call (through ``papercast.tools.llm.client``), context-window trimming
* ``offline``   the planner that answers without a model (retrieval + command patterns)
* ``graph``     the two graphs' wiring
* ``chat``      a turn on a persisted thread (``store.threads``), streamed as events
* ``daily``     the daily pipeline's nodes and ``run_daily`` (write / email the digest)
"""
