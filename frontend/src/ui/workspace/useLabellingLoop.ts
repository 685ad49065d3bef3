/**
 * The labelling loop of one project, as a hook: the project, the first lease (asked for early),
 * the LabellingLoop (show, prefetch, submit, skip: labellingLoop.ts) and the outbox of unsaved
 * annotations with its retries.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import type { ApiClient } from "../../api/client";
import { Outbox } from "../../api/outbox";
import type { ItemPayload, Project, SkipReason } from "../../api/types";
import type { AnnotationDocument } from "../../viewer/annotationDocument";
import { prepareInstance } from "../../viewer/itemLoader";
import type { StackViewer } from "../../viewer/stackViewer";
import { describe, LabellingLoop, type LoopState, type Notice } from "../labellingLoop";

/** The item the doctor is looking at, with its annotations. */
export interface OnScreen {
  doc: AnnotationDocument;
  item: ItemPayload;
}

interface Options {
  client: ApiClient;
  username: string;
  projectId: number;
  viewer: StackViewer | null;
  /** Called once the project has loaded, in the same update (a stable callback). */
  onProject: (project: Project) => void;
}

export function useLabellingLoop({ client, username, projectId, viewer, onProject }: Options) {
  const [project, setProject] = useState<Project | null>(null);
  const [loop, setLoop] = useState<LoopState | null>(null);
  const [pending, setPending] = useState(0);
  const [offline, setOffline] = useState<string | null>(null);
  const loopRef = useRef<LabellingLoop | null>(null);
  const prefetch = new URLSearchParams(location.search).get("prefetch") !== "0";

  // Cold start: ask for the first lease and its metadata while Cornerstone and the project load,
  // instead of after them (the requests do not depend on each other).
  const early = useMemo(() => {
    const answer = client.queueNext(projectId, prefetch ? 2 : 1);
    answer.then((a) => a.items[0] && prepareInstance(a.items[0].instance)).catch(() => undefined);
    return answer;
  }, [client, projectId, prefetch]);

  const outbox = useMemo(
    () => new Outbox(client, window.localStorage, `radloop.outbox.v1.${username}`),
    [client, username],
  );

  const notify = useCallback((notice: Notice) => loopRef.current?.notify(notice), []);

  // Project, then the loop once the viewer exists.
  useEffect(() => {
    let live = true;
    client.project(projectId).then(
      (p) => {
        if (!live) return;
        setProject(p);
        onProject(p);
      },
      (err: unknown) =>
        live &&
        setLoop((s) => ({
          ...(s ?? emptyLoop()),
          phase: "error",
          notice: { kind: "error", text: describe(err) },
        })),
    );
    return () => {
      live = false;
    };
  }, [client, projectId, onProject]);

  useEffect(() => {
    if (!viewer || !project) return;
    const instance = new LabellingLoop(client, project.id, outbox, viewer, { prefetch }, setLoop);
    loopRef.current = instance;
    void instance.start(early);
    return () => {
      instance.dispose();
      loopRef.current = null;
    };
  }, [viewer, project, client, outbox, prefetch, early]);

  // Unsaved work: retry when the network comes back and every few seconds while anything waits.
  useEffect(() => {
    const stop = outbox.subscribe((event) => {
      if (event.type === "changed") setPending(event.pending);
      if (event.type === "offline") setOffline(event.reason);
      if (event.type === "saved") setOffline(null);
      if (event.type === "rejected")
        notify({ kind: "error", text: `The server refused an annotation: ${event.reason}` });
    });
    const retry = () => void outbox.flush();
    window.addEventListener("online", retry);
    const timer = window.setInterval(() => outbox.size && retry(), 5000);
    setPending(outbox.size);
    retry();
    return () => {
      stop();
      window.removeEventListener("online", retry);
      window.clearInterval(timer);
    };
  }, [outbox, notify]);

  /**
   * The item on screen right now. Key handlers read it here rather than from the last render:
   * a key pressed right after Enter must reach the new item, never the one just submitted.
   */
  const onScreen = useCallback((): OnScreen | null => {
    const snap = loopRef.current?.snapshot;
    return snap?.phase === "ready" && snap.doc && snap.item
      ? { doc: snap.doc, item: snap.item }
      : null;
  }, []);

  /** The loop's latest state, between renders (the test hook reads it). */
  const snapshot = useCallback(() => loopRef.current?.snapshot ?? null, []);
  const submit = useCallback(() => void loopRef.current?.submit(), []);
  const skip = useCallback((reason: SkipReason) => void loopRef.current?.skip(reason), []);

  return { project, loop, outbox, pending, offline, notify, onScreen, snapshot, submit, skip };
}

function emptyLoop(): LoopState {
  return {
    phase: "starting",
    item: null,
    stack: null,
    doc: null,
    progress: null,
    sessionCount: 0,
    notice: null,
    leaseExpired: false,
    nextReady: false,
  };
}
