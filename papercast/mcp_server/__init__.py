"""``papercast mcp``: the library served to other agents over the Model Context Protocol (stdio).

``catalog``: the tools, resources and prompts, described without loading anything heavy (the
start-up path); ``handlers``: what they do, over the service and the agent's tools, loaded on the
first call; ``server``: the SDK's low-level server, errors as one line, changes asked by elicitation.
Named ``mcp_server`` so that it never shadows the SDK's own ``mcp`` package.
"""
