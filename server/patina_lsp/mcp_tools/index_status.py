"""index_status: how complete the index is."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from patina_lsp.mcp_tools.workspace import Workspace, ensure_started

INDEX_STATUS = "How complete the index is: files and units indexed, the phase and time left while indexing."


class IndexStatus(BaseModel):
    state: str = Field(description="starting, indexing, ready or error")
    workspaces: list[str]
    files: int
    units: int
    pending_files: int
    texts_embedded: int = Field(description="texts this process embedded in its last indexing run")
    phase: str | None = None
    percentage: int | None = None
    eta_seconds: float | None = None
    shared_with: list[int] = Field(default_factory=list,
                                   description="pids of the Patina processes that write the index (if not this one)")
    message: str | None = None


def register(server: MCPServer, workspace: Workspace, annotations: ToolAnnotations) -> None:
    @server.tool(annotations=annotations, description=INDEX_STATUS)
    async def index_status(ctx: Context) -> Annotated[CallToolResult, IndexStatus]:
        """INDEX_STATUS, for the agent: the tool's description."""
        await ensure_started(ctx, workspace)
        engine = workspace.engine
        now = engine.snapshot()
        data = IndexStatus(state=now.state.value, workspaces=[str(r) for r in engine.roots], files=now.files,
                           units=now.units, pending_files=now.pending_files,
                           phase=now.phase.value if now.phase else None, texts_embedded=now.texts_embedded,
                           percentage=now.percentage, eta_seconds=now.eta_seconds,
                           shared_with=[int(pid) for pid in now.shared_with if pid.isdigit()], message=now.message)
        text = (f"{data.state}: {data.units:,} units in {data.files:,} files of {', '.join(data.workspaces)}; "
                f"{data.pending_files:,} files pending")
        if data.phase:
            text += f"; {data.phase} phase, {data.percentage}%"
            if data.eta_seconds is not None:
                text += f", about {round(data.eta_seconds)} s left"
        if data.shared_with:
            text += f"; the index is written by Patina process {', '.join(map(str, data.shared_with))} and shared"
        if data.message:
            text += f"; {data.message}"
        return CallToolResult(content=[TextContent(type="text", text=text)],
                              structured_content=data.model_dump(mode="json"))
