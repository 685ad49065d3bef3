/**
 * The reviewer's screen: the items to adjudicate, each in the viewer with every reader's shapes
 * as a layer of its own colour; one key accepts a reader's answer, Shift+key edits a copy of it
 * with the workspace's drawing tools, Enter saves the edited adjudication; comments beside it.
 * Reuses the workspace's viewer, drawing layer, key plan and panels (workspace/).
 */
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "react";

import { ApiError } from "../../api/http";
import type { LabelClass, ReviewBody } from "../../api/types";
import { AnnotationDocument, draftSink } from "../../viewer/annotationDocument";
import { Tag, text } from "../../viewer/dicomJson";
import type { ViewState } from "../../viewer/stackViewer";
import { installTestHook } from "../../viewer/testHook";
import { useSession } from "../context";
import { describe, type Notice } from "../labellingLoop";
import { Overlay } from "../Overlay";
import { ShortcutHelp } from "../ShortcutHelp";
import { REVIEW_SHORTCUTS } from "../shortcuts";
import { useStackViewer } from "../useStackViewer";
import { ViewerToolbar } from "../ViewerToolbar";
import { useAnswerActions } from "../workspace/answers";
import { defaultTool, isDrawTool, isToolOf } from "../workspace/tools";
import { useDrawingLayer } from "../workspace/useDrawingLayer";
import { initialWorkspace, workspaceReducer } from "../workspace/workspaceState";
import { adjudicatedAnswer, adjudicationBody, draftFrom, nextSolo, readerAnswers } from "./readers";
import { ReviewPanel } from "./ReviewPanel";
import { ReviewQueueList } from "./ReviewQueueList";
import { useReaderLayers } from "./useReaderLayers";
import { useReviewKeys } from "./useReviewKeys";
import { useReviewQueue } from "./useReviewQueue";

export interface Draft {
  doc: AnnotationDocument;
  /** Whose answer the copy started from. */
  from: string;
}

export function ReviewPage({ projectId }: { projectId: number }) {
  const { client, username } = useSession();
  const [ref, viewer, startError] = useStackViewer();
  const [ui, dispatch] = useReducer(workspaceReducer, initialWorkspace);
  const [notice, setNotice] = useState<Notice | null>(null);
  const notify = useCallback((n: Notice | null) => setNotice(n), []);
  const queue = useReviewQueue(client, projectId, viewer, notify);
  const { project, item, items } = queue;
  const [solo, setSolo] = useState<number | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const [busy, setBusy] = useState(false);
  const commentRef = useRef<HTMLTextAreaElement>(null);
  const [view, setView] = useState<ViewState | null>(null);
  useEffect(() => viewer?.subscribe(() => setView(viewer.state())), [viewer]);

  const labels = useMemo(
    () => [...(project?.label_classes ?? [])].sort((a, b) => a.index - b.index),
    [project],
  );
  const answers = useMemo(() => (item ? readerAnswers(item) : []), [item]);
  const adjudicated = useMemo(() => (item ? adjudicatedAnswer(item) : null), [item]);
  useReaderLayers(viewer, item, labels, answers, solo, adjudicated, draft !== null);

  // The edit layer, built after the readers' layers, lies on top and takes the clicks.
  const drawing = useDrawingLayer({
    viewer,
    doc: draft?.doc ?? null,
    item,
    project,
    labels,
    ui,
    notify,
  });
  const onScreen = useCallback(
    () => (draft && item ? { doc: draft.doc, item } : null),
    [draft, item],
  );
  const answering = useAnswerActions({
    project,
    labels,
    onScreen,
    layerRef: drawing.layerRef,
    dispatch,
    notify,
  });

  // A new project: its first class to draw with, but the viewer's own tool until an edit starts.
  useEffect(() => {
    if (!project) return;
    dispatch({ type: "projectLoaded", project });
    dispatch({ type: "tool", tool: "WindowLevel" });
  }, [project]);

  const leaveEdit = useCallback(() => {
    setDraft(null);
    dispatch({ type: "tool", tool: "WindowLevel" });
  }, []);

  const select = (index: number) => {
    if (!items?.length) return;
    leaveEdit();
    setSolo(null);
    queue.setIndex(Math.min(items.length - 1, Math.max(0, index)));
  };

  const startEdit = (reader: number) => {
    if (!item || !project) return;
    const doc = new AnnotationDocument(item.id, draftSink);
    doc.startFrom(draftFrom(answers[reader] ?? null, item.frame));
    setDraft({ doc, from: answers[reader]?.reader.username ?? "nobody" });
    dispatch({ type: "tool", tool: defaultTool(project.task_type) });
    notify({ kind: "info", text: "Editing a copy: Enter saves it as the adjudication." });
  };

  const adjudicate = async (body: ReviewBody, what: string) => {
    if (!item || busy) return;
    setBusy(true);
    const seen = item.adjudication?.version ?? null;
    try {
      const result = await client.review(item.id, body, seen);
      const fresh = await client.item(item.id);
      queue.update(item.id, {
        review_state: "reviewed",
        annotations: fresh.annotations,
        adjudication: {
          version: result.version,
          reviewer: 0,
          reviewer_name: username,
          accepted_reader: result.accepted_reader,
          note: result.note,
          created_at: new Date().toISOString(),
        },
      });
      leaveEdit();
      notify({ kind: "info", text: `Item ${item.id}: ${what} (version ${result.version}).` });
      const next = items?.findIndex((row, i) => i > queue.index && row.review_state === "pending");
      if (next !== undefined && next >= 0) select(next);
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) {
        // Never replace a newer adjudication unseen: show it, and let a deliberate retry win.
        const current = (err.body as { current_version?: number }).current_version ?? null;
        const fresh = await client.item(item.id).catch(() => null);
        queue.update(item.id, {
          annotations: fresh?.annotations ?? item.annotations,
          adjudication: current
            ? { ...(item.adjudication ?? emptyAdjudication), version: current }
            : null,
        });
        notify({
          kind: "warn",
          text: `Item ${item.id} was adjudicated meanwhile (now version ${current}). Look again; the same key replaces it.`,
        });
      } else {
        const details = err instanceof ApiError ? err.details.join("; ") : "";
        notify({ kind: "error", text: details || describe(err) });
      }
    } finally {
      setBusy(false);
    }
  };

  const accept = (reader: number) => {
    const answer = answers[reader];
    if (answer)
      void adjudicate({ accept: answer.reader.id }, `accepted ${answer.reader.username}'s answer`);
  };
  const save = () => {
    if (draft && project)
      void adjudicate(
        adjudicationBody(draft.doc.all(), project.task_type),
        "saved the edited adjudication",
      );
  };

  useReviewKeys({
    viewer,
    project,
    labels,
    ui,
    dispatch,
    draft,
    readers: answers.length,
    modality: item?.instance.modality ?? "",
    layerRef: drawing.layerRef,
    notify,
    actions: {
      accept,
      edit: startEdit,
      save,
      leaveEdit,
      move: (delta: number) => select(queue.index + delta),
      cycleLayers: () => setSolo((s) => nextSolo(s, answers.length)),
      comment: () => commentRef.current?.focus(),
      chooseClass: (label: LabelClass) => answering.chooseClass(label),
      noFindings: answering.noFindings,
      step: drawing.step,
    },
  });

  // window.__viewerTest, as the workspace's: status and the draft's shapes.
  const status = useRef<Record<string, unknown>>({});
  const draftRef = useRef(draft);
  useEffect(() => {
    draftRef.current = draft;
    status.current = {
      state: queue.phase,
      itemId: item?.id ?? null,
      projectId,
      tool: ui.tool,
      pending: busy ? 1 : 0,
      notice: notice?.text ?? null,
      editing: draft !== null,
      solo,
      brush: ui.brush,
    };
  });
  useEffect(() => {
    if (!viewer) return;
    return installTestHook({
      viewer,
      status: () => status.current,
      annotations: () => draftRef.current?.doc.all() ?? [],
      setTool: (name) => {
        if (project && isToolOf(project.task_type, name)) dispatch({ type: "tool", tool: name });
      },
    });
  }, [viewer, project]);

  const meta = queue.stack?.metadata[view?.index ?? 0];
  const left = items?.filter((row) => row.review_state === "pending").length ?? 0;
  return (
    <main className="workspace review" data-phase={queue.phase}>
      <ReviewQueueList
        items={items}
        index={queue.index}
        showReviewed={queue.showReviewed}
        onSelect={select}
        onShowReviewed={queue.setShowReviewed}
      />
      <section className="viewer-column">
        {viewer && (
          <ViewerToolbar
            viewer={viewer}
            modality={text(meta, Tag.Modality) || item?.instance.modality || ""}
            activeNavigation={isDrawTool(ui.tool) ? null : ui.tool}
            onNavigationTool={(t) => dispatch({ type: "tool", tool: t })}
          />
        )}
        <div className="viewport-wrap">
          <div ref={ref} className="viewport" data-testid="viewport" />
          <Overlay
            meta={meta}
            view={view}
            showIdentity={project?.deidentify === false}
            frameLabel={item ? `item ${item.id}` : undefined}
          />
          {queue.phase === "empty" && (
            <div className="done" role="status" data-testid="review-done">
              <h2>Nothing to adjudicate in this project.</h2>
            </div>
          )}
        </div>
        {startError && <p className="error">{startError}</p>}
      </section>
      <ReviewPanel
        client={client}
        project={project}
        item={item}
        answers={answers}
        adjudicated={adjudicated}
        labels={labels}
        ui={ui}
        solo={solo}
        draft={draft}
        busy={busy}
        notice={notice}
        left={left}
        commentRef={commentRef}
        on={{
          accept,
          edit: startEdit,
          solo: setSolo,
          save,
          discard: leaveEdit,
          choose: answering.chooseClass,
          noFindings: answering.noFindings,
          tool: (t) => dispatch({ type: "tool", tool: t }),
          brush: (size) => dispatch({ type: "brushSize", size }),
          step: drawing.step,
          help: () => dispatch({ type: "help", open: true }),
          commented: (count) => item && queue.update(item.id, { comments: count }),
        }}
      />
      {ui.help && (
        <ShortcutHelp
          shortcuts={REVIEW_SHORTCUTS}
          title="Review shortcuts"
          onClose={() => dispatch({ type: "help", open: false })}
        />
      )}
    </main>
  );
}

const emptyAdjudication = {
  version: 0,
  reviewer: 0,
  reviewer_name: "another reviewer",
  accepted_reader: null,
  note: "",
  created_at: "",
};
