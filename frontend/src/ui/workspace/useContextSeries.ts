/** Opening another series of the study, read-only, and going back to the item (Esc). */
import { useCallback, type Dispatch } from "react";

import type { ItemPayload } from "../../api/types";
import { prepareSeries, type PreparedStack } from "../../viewer/itemLoader";
import type { StackViewer } from "../../viewer/stackViewer";
import { describe, type Notice } from "../labellingLoop";
import type { WorkspaceEvent } from "./workspaceState";

interface Options {
  viewer: StackViewer | null;
  item: ItemPayload | null;
  stack: PreparedStack | null;
  dispatch: Dispatch<WorkspaceEvent>;
  notify: (notice: Notice) => void;
}

export function useContextSeries({ viewer, item, stack, dispatch, notify }: Options) {
  const openSeries = useCallback(
    async (seriesUid: string) => {
      if (!viewer || !item || !stack) return;
      if (seriesUid === item.instance.series_instance_uid) {
        dispatch({ type: "context", context: null });
        await viewer.show(stack.imageIds, item.frame - 1);
        return;
      }
      try {
        const other = await prepareSeries(item.instance.study_instance_uid, seriesUid);
        dispatch({ type: "context", context: { series: seriesUid, metadata: other.metadata } });
        await viewer.show(other.imageIds, 0);
      } catch (err) {
        notify({ kind: "error", text: describe(err) });
      }
    },
    [viewer, item, stack, dispatch, notify],
  );
  const backToItem = useCallback(() => {
    if (item) void openSeries(item.instance.series_instance_uid);
  }, [item, openSeries]);
  return { openSeries, backToItem };
}
