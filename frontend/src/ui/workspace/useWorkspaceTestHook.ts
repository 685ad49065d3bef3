/** `window.__viewerTest` for the workspace: the loop's status and shapes (viewer/testHook.ts). */
import { useEffect } from "react";

import type { Outbox } from "../../api/outbox";
import { installTestHook } from "../../viewer/testHook";
import type { StackViewer } from "../../viewer/stackViewer";
import type { LoopState } from "../labellingLoop";
import type { Tool } from "./tools";

interface Options {
  viewer: StackViewer | null;
  projectId: number;
  tool: Tool;
  brush: number;
  outbox: Outbox;
  snapshot: () => LoopState | null;
  setTool: (name: string) => void;
}

export function useWorkspaceTestHook(o: Options): void {
  const { viewer, projectId, tool, brush, outbox, snapshot, setTool } = o;
  useEffect(() => {
    if (!viewer) return;
    return installTestHook({
      viewer,
      status: () => ({
        state: snapshot()?.phase ?? "starting",
        itemId: snapshot()?.item?.id ?? null,
        projectId,
        tool,
        pending: outbox.size,
        notice: snapshot()?.notice?.text ?? null,
        nextReady: snapshot()?.nextReady ?? false,
        brush,
      }),
      annotations: () => snapshot()?.doc?.all() ?? [],
      setTool,
    });
  }, [viewer, projectId, tool, brush, outbox, snapshot, setTool]);
}
