import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import { Outbox } from "../api/outbox";
import type { ClassPayload, LabelClass, Project, SkipReason, Suggestion } from "../api/types";
import { newUid } from "../viewer/annotationDocument";
import type { DicomJson } from "../viewer/dicomJson";
import { Tag, text } from "../viewer/dicomJson";
import { DrawingLayer, type DrawTool } from "../viewer/drawingLayer";
import { prepareInstance, prepareSeries } from "../viewer/itemLoader";
import type { NavigationTool, ViewState } from "../viewer/stackViewer";
import { installTestHook } from "../viewer/testHook";
import { useSession } from "./context";
import { DEFAULT_HEATMAP_OPACITY, HeatmapOverlay } from "./HeatmapOverlay";
import { describe, LabellingLoop, type LoopState } from "./labellingLoop";
import { handleNavigationKey } from "./navigationKeys";
import { Overlay } from "./Overlay";
import { linkHandler } from "./router";
import { SeriesList } from "./SeriesList";
import { ShortcutHelp } from "./ShortcutHelp";
import { isTypingTarget } from "./shortcuts";
import { SkipDialog, SKIP_REASONS } from "./SkipDialog";
import { SuggestionPanel } from "./SuggestionPanel";
import { ViewerToolbar } from "./ViewerToolbar";
import { useStackViewer } from "./useStackViewer";

type Tool = DrawTool | NavigationTool;

const TOOLS_FOR_TASK: Record<Project["task_type"], DrawTool[]> = {
  classification: [],
  detection: ["select", "box", "point"],
  segmentation: ["select", "polygon", "freehand", "brush", "eraser"],
};

const TOOL_KEYS: Record<string, DrawTool> = {
  v: "select",
  b: "box",
  g: "polygon",
  f: "freehand",
  d: "point",
  r: "brush",
  e: "eraser",
};

const TOOL_NAMES: Record<DrawTool, string> = {
  select: "Select (V)",
  box: "Box (B)",
  polygon: "Polygon (G)",
  freehand: "Freehand (F)",
  point: "Point (D)",
  brush: "Brush (R)",
  eraser: "Eraser (E)",
};

function isDrawTool(tool: Tool): tool is DrawTool {
  return tool in TOOL_NAMES;
}

/** The labelling workspace of one project: viewer, tools and the keyboard loop. */
export function Workspace({ projectId }: { projectId: number }) {
  const { client, username } = useSession();
  const [ref, viewer, startError] = useStackViewer();
  const [project, setProject] = useState<Project | null>(null);
  const [loop, setLoop] = useState<LoopState | null>(null);
  const [view, setView] = useState<ViewState | null>(null);
  const [tool, setToolState] = useState<Tool>("WindowLevel");
  const [activeLabel, setActiveLabel] = useState<string | null>(null);
  const [help, setHelp] = useState(false);
  const [skipping, setSkipping] = useState(false);
  const [suggestion, setSuggestion] = useState<Suggestion | null>(null);
  const [heatmap, setHeatmap] = useState(false);
  const [heatmapOpacity, setHeatmapOpacity] = useState(DEFAULT_HEATMAP_OPACITY);
  const [pending, setPending] = useState(0);
  const [offline, setOffline] = useState<string | null>(null);
  const [context, setContext] = useState<{ series: string; metadata: DicomJson[] } | null>(null);
  const [docVersion, setDocVersion] = useState(0);
  const [brush, setBrush] = useState(4);
  const loopRef = useRef<LabellingLoop | null>(null);
  const layerRef = useRef<DrawingLayer | null>(null);
  const activeLabelRef = useRef<string | null>(null);
  activeLabelRef.current = activeLabel;
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

  // Project, then the loop once the viewer exists.
  useEffect(() => {
    let live = true;
    client.project(projectId).then(
      (p) => {
        if (!live) return;
        setProject(p);
        const first = [...p.label_classes].sort((a, b) => a.index - b.index)[0];
        setActiveLabel(first?.name ?? null);
        setToolState(TOOLS_FOR_TASK[p.task_type][1] ?? "WindowLevel");
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
  }, [client, projectId]);

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
        loopRef.current?.notify({
          kind: "error",
          text: `The server refused an annotation: ${event.reason}`,
        });
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
  }, [outbox]);

  const item = loop?.item ?? null;
  const doc = loop?.doc ?? null;
  const stack = loop?.stack ?? null;
  const labels = useMemo(
    () => [...(project?.label_classes ?? [])].sort((a, b) => a.index - b.index),
    [project],
  );

  // The drawing layer follows the item on screen (not a series opened for context).
  useEffect(() => {
    if (!viewer || !doc || !item || !project || context) return;
    const layer = new DrawingLayer(viewer.element, {
      doc,
      rows: item.instance.rows,
      columns: item.instance.columns,
      labels: labels.map((l) => ({ name: l.name, color: l.color, value: l.index + 1 })),
      affine: () => viewer.imageToCanvas(),
      frame: () => viewer.index + 1,
      activeLabel: () => activeLabelRef.current,
      readOnly: project.task_type === "classification",
      onMessage: (text) => loopRef.current?.notify({ kind: "info", text }),
    });
    layer.setBrushSize(brush);
    layerRef.current = layer;
    const stopView = viewer.subscribe(() => layer.render());
    const stopDoc = doc.subscribe(() => setDocVersion((n) => n + 1));
    setDocVersion((n) => n + 1);
    return () => {
      stopView();
      stopDoc();
      layer.destroy();
      layerRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [viewer, doc, item, project, labels, context]);

  // Tool changes reach Cornerstone (navigation) or the drawing layer.
  useEffect(() => {
    if (!viewer) return;
    if (isDrawTool(tool)) {
      viewer.setPrimary(null);
      layerRef.current?.setTool(tool);
    } else {
      viewer.setPrimary(tool);
      layerRef.current?.setTool(null);
    }
  }, [viewer, tool, doc, context]);

  useEffect(() => layerRef.current?.setBrushSize(brush), [brush]);

  useEffect(() => {
    if (!viewer) return;
    return viewer.subscribe(() => setView(viewer.state()));
  }, [viewer]);

  // Suggestions: with the item ("before"), or once the doctor has answered ("after").
  useEffect(() => {
    setSuggestion(item?.suggestion ?? null);
    setHeatmap(false);
  }, [item]);
  useEffect(() => {
    if (!item || !doc || project?.suggestions !== "after" || suggestion) return;
    return outbox.subscribe((event) => {
      if (event.type !== "saved" || event.itemId !== item.id || doc.isEmpty) return;
      // GET the item again rather than /suggestion: no 404 in the console when there is no model.
      client.item(item.id).then(
        (fresh) => fresh.suggestion && setSuggestion(fresh.suggestion),
        () => undefined,
      );
    });
  }, [item, doc, project, suggestion, outbox, client]);

  const setTool = useCallback(
    (name: string) => {
      if (!project) return;
      const allowed: Tool[] = [...TOOLS_FOR_TASK[project.task_type], "WindowLevel", "Pan", "Zoom"];
      if (allowed.includes(name as Tool)) setToolState(name as Tool);
    },
    [project],
  );

  /**
   * The item on screen right now. Key handlers read it here rather than from the last render:
   * a key pressed right after Enter must reach the new item, never the one just submitted.
   */
  const onScreen = useCallback(() => {
    const snap = loopRef.current?.snapshot;
    return snap?.phase === "ready" && snap.doc && snap.item
      ? { doc: snap.doc, item: snap.item }
      : null;
  }, []);

  const chooseClass = useCallback(
    (label: LabelClass) => {
      const live = onScreen();
      if (!project || !live) return;
      const { doc, item } = live;
      if (project.task_type !== "classification") {
        setActiveLabel(label.name);
        layerRef.current?.relabelSelected(label.name);
        return;
      }
      const existing = doc.classShape();
      const current = (existing?.payload as ClassPayload | undefined)?.labels ?? [];
      let next: string[];
      if (project.multi_label) {
        next = current.includes(label.name)
          ? current.filter((n) => n !== label.name)
          : [...current, label.name];
      } else {
        next = [label.name];
      }
      // Schema order, as the server stores it.
      next = labels.map((l) => l.name).filter((n) => next.includes(n));
      if (!next.length) {
        if (existing) doc.remove(existing.uid);
        return;
      }
      doc.put({
        uid: existing?.uid ?? newUid(),
        kind: "class",
        frame: item.frame,
        payload: { labels: next },
      });
    },
    [project, labels, onScreen],
  );

  const noFindings = useCallback(() => {
    const live = onScreen();
    if (!live || !project || project.task_type === "classification") return;
    const { doc, item } = live;
    if (doc.all().some((s) => s.kind !== "class")) {
      loopRef.current?.notify({
        kind: "info",
        text: "Delete the shapes first to mark this image as having no findings.",
      });
      return;
    }
    const existing = doc.classShape();
    doc.put({
      uid: existing?.uid ?? newUid(),
      kind: "class",
      frame: item.frame,
      payload: { labels: [] },
    });
  }, [project, onScreen]);

  const openContextSeries = useCallback(
    async (seriesUid: string) => {
      if (!viewer || !item || !stack) return;
      if (seriesUid === item.instance.series_instance_uid) {
        setContext(null);
        await viewer.show(stack.imageIds, item.frame - 1);
        return;
      }
      try {
        const other = await prepareSeries(item.instance.study_instance_uid, seriesUid);
        setContext({ series: seriesUid, metadata: other.metadata });
        await viewer.show(other.imageIds, 0);
      } catch (err) {
        loopRef.current?.notify({ kind: "error", text: describe(err) });
      }
    },
    [viewer, item, stack],
  );

  const submit = useCallback(() => {
    setContext(null);
    void loopRef.current?.submit();
  }, []);

  const skip = useCallback((reason: SkipReason) => {
    setSkipping(false);
    setContext(null);
    void loopRef.current?.skip(reason);
  }, []);

  // The keyboard loop.
  const presetState = useRef({ i: 0 });
  useEffect(() => {
    if (!viewer || !project) return;
    const onKey = (event: KeyboardEvent) => {
      if (isTypingTarget(event.target)) return;
      const key = event.key;
      if (help) {
        if (key === "Escape" || key === "?") setHelp(false);
        event.preventDefault();
        return;
      }
      if (skipping) {
        const reason = SKIP_REASONS.find((r) => r.key === key);
        if (reason) skip(reason.value);
        else if (key === "Escape") setSkipping(false);
        event.preventDefault();
        return;
      }
      const mod = event.ctrlKey || event.metaKey;
      const doc = onScreen()?.doc;
      if (mod && (key === "z" || key === "Z")) {
        if (event.shiftKey) doc?.redo();
        else doc?.undo();
        layerRef.current?.invalidateMasks();
        event.preventDefault();
        return;
      }
      if (mod && (key === "y" || key === "Y")) {
        doc?.redo();
        layerRef.current?.invalidateMasks();
        event.preventDefault();
        return;
      }
      if (mod || event.altKey) return;
      if (layerRef.current?.handleKey(event)) {
        event.preventDefault();
        return;
      }
      if (key === "Escape" && context) {
        void openContextSeries(item!.instance.series_instance_uid);
        return;
      }
      if (key === "Enter") {
        if (event.target instanceof HTMLButtonElement) return; // a focused button handles its own Enter
        submit();
      } else if (key === "s" || key === "S") setSkipping(true);
      else if (key === "?") setHelp(true);
      else if (key === "n" || key === "N") noFindings();
      else if (key === "h" || key === "H") setHeatmap((on) => !on);
      else if (key === "[") setBrush((b) => Math.max(1, b - 1));
      else if (key === "]") setBrush((b) => Math.min(100, b + 1));
      else if (/^[1-9]$/.test(key) || labels.some((l) => l.shortcut && l.shortcut === key)) {
        const label = labels.find((l) => l.shortcut === key) ?? labels[Number(key) - 1];
        if (label) chooseClass(label);
      } else if (
        TOOL_KEYS[key.toLowerCase()] &&
        TOOLS_FOR_TASK[project.task_type].includes(TOOL_KEYS[key.toLowerCase()])
      ) {
        setToolState(TOOL_KEYS[key.toLowerCase()]);
      } else if (
        handleNavigationKey(event, viewer, item?.instance.modality ?? "", presetState.current)
      ) {
        if (["w", "m", "z"].includes(key.toLowerCase()))
          setToolState(viewer.primaryTool ?? "WindowLevel");
      } else return;
      event.preventDefault();
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [
    viewer,
    project,
    help,
    skipping,
    item,
    labels,
    context,
    submit,
    skip,
    chooseClass,
    noFindings,
    openContextSeries,
    onScreen,
  ]);

  // Test hook.
  useEffect(() => {
    if (!viewer) return;
    return installTestHook({
      viewer,
      status: () => ({
        state: loopRef.current?.snapshot.phase ?? "starting",
        itemId: loopRef.current?.snapshot.item?.id ?? null,
        projectId,
        tool,
        pending: outbox.size,
        notice: loopRef.current?.snapshot.notice?.text ?? null,
        nextReady: loopRef.current?.snapshot.nextReady ?? false,
        brush,
      }),
      annotations: () => loopRef.current?.snapshot.doc?.all() ?? [],
      setTool,
    });
  }, [viewer, projectId, tool, outbox, brush, setTool]);

  const currentMeta = context
    ? context.metadata[view?.index ?? 0]
    : stack?.metadata[view?.index ?? 0];
  const classLabels = (doc?.classShape()?.payload as ClassPayload | undefined)?.labels;
  void docVersion;
  const drawTools = project ? TOOLS_FOR_TASK[project.task_type] : [];
  const phase = loop?.phase ?? "starting";

  return (
    <main className="workspace" data-phase={phase}>
      <aside className="side" aria-label="Series">
        <h2 className="small-title">Series</h2>
        {item && (
          <SeriesList
            studyUid={item.instance.study_instance_uid}
            activeUid={context?.series ?? item.instance.series_instance_uid}
            highlightUid={item.instance.series_instance_uid}
            onOpen={(s) => void openContextSeries(s.uid)}
          />
        )}
      </aside>
      <section className="viewer-column">
        {viewer && (
          <ViewerToolbar
            viewer={viewer}
            modality={text(currentMeta, Tag.Modality) || item?.instance.modality || ""}
            activeNavigation={isDrawTool(tool) ? null : tool}
            onNavigationTool={(t) => setToolState(t)}
          />
        )}
        <div className="viewport-wrap">
          <div ref={ref} className="viewport" data-testid="viewport" />
          <Overlay
            meta={currentMeta}
            view={view}
            showIdentity={project?.deidentify === false}
            frameLabel={
              view && stack && !context
                ? `${view.count > 1 ? `Frame ${view.index + 1}/${view.count}` : "Image"} · item ${item?.id ?? ""}`
                : undefined
            }
          />
          {heatmap && suggestion?.heatmap_url && viewer && item && !context && (
            <HeatmapOverlay
              viewer={viewer}
              url={suggestion.heatmap_url}
              rows={item.instance.rows}
              columns={item.instance.columns}
              opacity={heatmapOpacity}
            />
          )}
          {context && (
            <div className="banner" role="status">
              Viewing another series, read-only.{" "}
              <button
                type="button"
                onClick={() => void openContextSeries(item!.instance.series_instance_uid)}
              >
                Back to the item (Esc)
              </button>
            </div>
          )}
          {phase === "done" && (
            <div className="done" role="status" data-testid="queue-done">
              <h2>Nothing left to label for you in this project.</h2>
              <a href="/" onClick={linkHandler("/")}>
                Back to your projects
              </a>
            </div>
          )}
        </div>
      </section>
      <aside className="panel" aria-label="Labelling">
        <h1 className="project-name">{project?.name ?? "…"}</h1>
        <p className="progress" data-testid="progress" aria-live="polite">
          {loop?.progress
            ? `${loop.progress.submitted_by_me} submitted by you · ${loop.progress.remaining} left in the queue`
            : "…"}
          {loop?.sessionCount ? ` · ${loop.sessionCount} this session` : ""}
        </p>
        {project?.instructions && (
          <details className="instructions">
            <summary>Instructions</summary>
            <p>{project.instructions}</p>
          </details>
        )}
        <div
          className="labels"
          role="group"
          aria-label={project?.task_type === "classification" ? "Answer" : "Label to draw"}
        >
          {labels.map((l, i) => {
            const pressed =
              project?.task_type === "classification"
                ? Boolean(classLabels?.includes(l.name))
                : activeLabel === l.name;
            return (
              <button
                key={l.id}
                type="button"
                className="label-button"
                aria-pressed={pressed}
                style={{ borderColor: l.color }}
                onClick={() => chooseClass(l)}
                data-testid={`label-${l.name}`}
              >
                <kbd>{l.shortcut || i + 1}</kbd> {l.name}
              </button>
            );
          })}
          {project && project.task_type !== "classification" && (
            <button
              type="button"
              className="label-button"
              aria-pressed={Array.isArray(classLabels) && classLabels.length === 0}
              onClick={noFindings}
            >
              <kbd>N</kbd> No findings
            </button>
          )}
        </div>
        {drawTools.length > 0 && (
          <div className="tools" role="toolbar" aria-label="Drawing tools">
            {drawTools.map((t) => (
              <button
                key={t}
                type="button"
                aria-pressed={tool === t}
                onClick={() => setToolState(t)}
                data-testid={`tool-${t}`}
              >
                {TOOL_NAMES[t]}
              </button>
            ))}
            {(tool === "brush" || tool === "eraser") && (
              <label className="brush-size">
                Size {brush}px
                <input
                  type="range"
                  min={1}
                  max={40}
                  value={brush}
                  onChange={(e) => setBrush(Number(e.target.value))}
                />
              </label>
            )}
            <button
              type="button"
              onClick={() => {
                doc?.undo();
                layerRef.current?.invalidateMasks();
              }}
              disabled={!doc?.canUndo}
            >
              Undo
            </button>
            <button
              type="button"
              onClick={() => {
                doc?.redo();
                layerRef.current?.invalidateMasks();
              }}
              disabled={!doc?.canRedo}
            >
              Redo
            </button>
          </div>
        )}
        {doc && project?.task_type !== "classification" && (
          <ul className="shape-list" aria-label="Shapes on this image" data-testid="shape-list">
            {doc
              .all()
              .filter((s) => s.kind !== "class")
              .map((s) => (
                <li key={s.uid}>
                  {s.kind} · {(s.payload as { label?: string }).label} · frame {s.frame}
                  <button
                    type="button"
                    className="link"
                    onClick={() => doc.remove(s.uid)}
                    aria-label={`Delete ${s.kind}`}
                  >
                    ✕
                  </button>
                </li>
              ))}
          </ul>
        )}
        {suggestion && project?.suggestions !== "hidden" && (
          <SuggestionPanel
            suggestion={suggestion}
            heatmapOn={heatmap}
            onToggleHeatmap={() => setHeatmap((on) => !on)}
            heatmapOpacity={heatmapOpacity}
            onHeatmapOpacity={setHeatmapOpacity}
          />
        )}
        <div className="actions">
          <button
            type="button"
            className="primary"
            onClick={submit}
            disabled={phase !== "ready"}
            data-testid="submit"
          >
            Submit <kbd>Enter</kbd>
          </button>
          <button type="button" onClick={() => setSkipping(true)} disabled={phase !== "ready"}>
            Skip <kbd>S</kbd>
          </button>
          <button type="button" className="link" onClick={() => setHelp(true)}>
            Shortcuts <kbd>?</kbd>
          </button>
        </div>
        <div aria-live="polite" className="status-area">
          {loop?.leaseExpired && <p className="warn">Lease expired.</p>}
          {loop?.notice && (
            <p className={loop.notice.kind} data-testid="notice">
              {loop.notice.text}
            </p>
          )}
          {pending > 0 && (
            <p className="warn" data-testid="unsaved">
              {pending} change{pending === 1 ? "" : "s"} not yet saved
              {offline ? ` (${offline}); retrying` : "…"}
            </p>
          )}
          {startError && <p className="error">{startError}</p>}
        </div>
      </aside>
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
      {skipping && <SkipDialog onChoose={skip} onCancel={() => setSkipping(false)} />}
    </main>
  );
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
