/** The right column: the item's readers (accept, edit a copy, show), the edit, the comments. */
import type { RefObject } from "react";

import type { ApiClient } from "../../api/client";
import type { ClassPayload, LabelClass, Project, ReviewItem } from "../../api/types";
import type { AnnotationDocument } from "../../viewer/annotationDocument";
import type { DrawTool } from "../../viewer/drawingLayer";
import type { Notice } from "../labellingLoop";
import { DrawingTools } from "../workspace/DrawingTools";
import { LabelButtons } from "../workspace/LabelButtons";
import { ShapeList } from "../workspace/ShapeList";
import { TOOLS_FOR_TASK } from "../workspace/tools";
import type { WorkspaceState } from "../workspace/workspaceState";
import { describeAnswer, type ReaderAnswer } from "./readers";
import { ReviewComments } from "./ReviewComments";

interface Props {
  client: ApiClient;
  project: Project | null;
  item: ReviewItem | null;
  answers: ReaderAnswer[];
  adjudicated: ReaderAnswer | null;
  labels: LabelClass[];
  ui: WorkspaceState;
  solo: number | null;
  draft: { doc: AnnotationDocument; from: string } | null;
  busy: boolean;
  notice: Notice | null;
  left: number;
  commentRef: RefObject<HTMLTextAreaElement | null>;
  on: {
    accept: (reader: number) => void;
    edit: (reader: number) => void;
    solo: (reader: number | null) => void;
    save: () => void;
    discard: () => void;
    choose: (label: LabelClass) => void;
    noFindings: () => void;
    tool: (tool: DrawTool) => void;
    brush: (size: number) => void;
    step: (doc: AnnotationDocument | null, redo: boolean) => void;
    help: () => void;
    commented: (count: number) => void;
  };
}

export function ReviewPanel(p: Props) {
  const { project, item, answers, draft, on } = p;
  const adjudication = item?.adjudication ?? null;
  const accepted = answers.find((a) => a.reader.id === adjudication?.accepted_reader);
  const classLabels = (draft?.doc.classShape()?.payload as ClassPayload | undefined)?.labels;
  return (
    <aside className="panel" aria-label="Review">
      <h1 className="project-name">{project?.name ?? "…"} · review</h1>
      <p className="progress" data-testid="review-progress" aria-live="polite">
        {p.left} left to adjudicate
      </p>
      {item && (
        <p className="small" data-testid="adjudication">
          Item {item.id} ({item.review_reason || "review"}):{" "}
          {adjudication
            ? `adjudicated, version ${adjudication.version} by ${adjudication.reviewer_name}` +
              (accepted ? ` (${accepted.reader.username}'s answer)` : " (edited)")
            : "not adjudicated yet"}
          {p.adjudicated && (
            <>
              <br />
              <span className="swatch" style={{ background: p.adjudicated.color }} />{" "}
              {describeAnswer(p.adjudicated.labels, p.adjudicated.shapes)}
            </>
          )}
        </p>
      )}
      <section aria-labelledby="readers-title">
        <h2 id="readers-title" className="small-title">
          Readers <span className="muted">(T: layers)</span>
        </h2>
        <ul className="reader-list" data-testid="readers">
          {answers.map((a, i) => (
            <li key={a.reader.id} className="reader" style={{ borderColor: a.color }}>
              <span className="reader-name">
                <span className="swatch" style={{ background: a.color }} aria-hidden="true" />
                <kbd>{a.key}</kbd> {a.reader.username}
                <button
                  type="button"
                  className="link"
                  aria-pressed={p.solo === i}
                  title={`Show only ${a.reader.username}'s shapes (T cycles the layers)`}
                  onClick={() => on.solo(p.solo === i ? null : i)}
                >
                  only
                </button>
              </span>
              <span className="muted" data-testid={`answer-${a.reader.username}`}>
                {describeAnswer(a.labels, a.shapes)}
              </span>
              <span className="reader-actions">
                <button
                  type="button"
                  onClick={() => on.accept(i)}
                  disabled={p.busy || draft !== null}
                >
                  Accept <kbd>{a.key}</kbd>
                </button>
                <button type="button" onClick={() => on.edit(i)} disabled={p.busy}>
                  Edit a copy <kbd>Shift+{a.key}</kbd>
                </button>
              </span>
            </li>
          ))}
        </ul>
      </section>
      {draft && project && (
        <section className="review-edit" aria-labelledby="edit-title" data-testid="review-edit">
          <h2 id="edit-title" className="small-title">
            Editing a copy of {draft.from}&apos;s answer
          </h2>
          <LabelButtons
            taskType={project.task_type}
            labels={p.labels}
            classLabels={classLabels}
            activeLabel={p.ui.activeLabel}
            onChoose={on.choose}
            onNoFindings={on.noFindings}
          />
          <DrawingTools
            tools={TOOLS_FOR_TASK[project.task_type]}
            tool={p.ui.tool}
            brush={p.ui.brush}
            canUndo={draft.doc.canUndo}
            canRedo={draft.doc.canRedo}
            onTool={on.tool}
            onBrush={on.brush}
            onUndo={() => on.step(draft.doc, false)}
            onRedo={() => on.step(draft.doc, true)}
          />
          {project.task_type !== "classification" && <ShapeList doc={draft.doc} />}
          <div className="actions">
            <button
              type="button"
              className="primary"
              onClick={on.save}
              disabled={p.busy}
              data-testid="save-adjudication"
            >
              Save adjudication <kbd>Enter</kbd>
            </button>
            <button type="button" onClick={on.discard}>
              Discard <kbd>Esc</kbd>
            </button>
          </div>
        </section>
      )}
      <div aria-live="polite" className="status-area">
        {p.notice && (
          <p className={p.notice.kind} data-testid="notice">
            {p.notice.text}
          </p>
        )}
      </div>
      {item && (
        <ReviewComments
          client={p.client}
          itemId={item.id}
          boxRef={p.commentRef}
          onAdded={on.commented}
        />
      )}
      <div className="actions">
        <button type="button" className="link" onClick={on.help}>
          Shortcuts <kbd>?</kbd>
        </button>
      </div>
    </aside>
  );
}
