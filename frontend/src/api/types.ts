/**
 * The REST contracts the workspace reads and writes (docs/api.md, helpers' API.md).
 * Geometry is always in image pixel coordinates: x = column, y = row, origin at the top-left
 * corner of the top-left pixel.
 */

export type TaskType = "classification" | "detection" | "segmentation";
export type SuggestionMode = "before" | "after" | "hidden";
export type Role = "admin" | "reviewer" | "annotator";

export interface Me {
  id: number;
  username: string;
  is_superuser: boolean;
}

export interface LabelClass {
  id: number;
  name: string;
  index: number;
  color: string;
  shortcut: string;
}

export interface ProjectCounts {
  items: number;
  completed: number;
  my_submitted: number;
  remaining_for_me: number;
}

export interface Project {
  id: number;
  name: string;
  instructions: string;
  /** The instructions' Markdown as safe HTML (server-rendered; raw HTML escaped). */
  instructions_html?: string;
  task_type: TaskType;
  multi_label: boolean;
  unit: "instance" | "frame" | "series";
  readers_per_item: number;
  suggestions: SuggestionMode;
  my_role: Role | null;
  label_classes: LabelClass[];
  counts: ProjectCounts;
  /** Not in every server version: absent means "treat as de-identified" (never show identity). */
  deidentify?: boolean;
  /** Detection: the lowest score of a model's box that doctors are shown (0..1). */
  box_threshold?: number;
}

export interface Paginated<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}

export type Point = [number, number];

export interface ClassPayload {
  labels: string[];
}
export interface ShapePayload {
  label: string;
  points: Point[];
}
export interface MaskPayload {
  label: string;
  size: [number, number];
  counts: number[];
}

export type AnnotationKind = "class" | "box" | "polygon" | "point" | "mask";

export type PayloadOf<K extends AnnotationKind> = K extends "class"
  ? ClassPayload
  : K extends "mask"
    ? MaskPayload
    : ShapePayload;

export type AnyPayload = ClassPayload | ShapePayload | MaskPayload;

export interface Annotation {
  uid: string;
  version: number;
  item: number;
  kind: AnnotationKind;
  frame: number;
  payload: AnyPayload;
  author: number | string | null;
  source: string;
  deleted: boolean;
  created_at: string;
  time_spent_ms: number;
  provenance?: (Provenance & { suggestion_pixels?: number; recomputed?: boolean }) | null;
}

export interface InstanceRef {
  study_instance_uid: string;
  series_instance_uid: string;
  sop_instance_uid: string;
  rows: number;
  columns: number;
  number_of_frames: number;
  modality: string;
}

/** A classification model's answer for the item. */
export interface ClassSuggestion {
  kind?: undefined;
  model_version: number | string;
  predicted: string;
  probabilities: Record<string, number>;
  /** A multi-label model: probabilities are per label and independent (they need not sum to 1). */
  multi_label?: boolean;
  /** The labels the model suggests (multi-label: every one at or above 0.5; empty = no finding). */
  predicted_labels?: string[];
  heatmap_url: string | null;
}

/** A segmentation model's masks for the item (docs/workflow.md, "Suggested masks"). */
export interface MaskSuggestion {
  kind: "mask";
  /** The ModelVersion id, sent back as provenance.suggested_by. */
  model_version: number;
  /** The version's number in its project, shown to the doctor. */
  version_number: number;
  frame: number;
  /** One mask per class with any foreground; empty = the model sees nothing. */
  masks: MaskPayload[];
}

/** One box a detection model proposes; `index` is its place in the stored suggestion. */
export interface SuggestedBox {
  label: string;
  points: [Point, Point];
  score: number;
  index: number;
}

/** A detection model's boxes at or above the project's threshold (docs/workflow.md,
 * "Suggested boxes"). */
export interface BoxSuggestion {
  kind: "boxes";
  /** The ModelVersion id, sent back as provenance.suggested_by. */
  model_version: number;
  version_number: number;
  frame: number;
  boxes: SuggestedBox[];
}

export type Suggestion = ClassSuggestion | MaskSuggestion | BoxSuggestion;

/** Where a mask came from, sent with its save; the server recomputes the counts. */
export interface MaskProvenance {
  suggested_by: number;
  accepted: boolean;
  pixels_added: number;
  pixels_removed: number;
}

/** Where a box came from; the server takes the score and "moved" from its own copy. */
export interface BoxProvenance {
  suggested_by: number;
  accepted: boolean;
  box_index: number;
  score: number;
  moved: boolean;
}

export type Provenance = MaskProvenance | BoxProvenance;

export interface ItemPayload {
  id: number;
  project: number;
  frame: number;
  lease: { id: number; expires_at: string } | null;
  instance: InstanceRef;
  annotations: Annotation[];
  suggestion: Suggestion | null;
}

export interface QueueNext {
  items: ItemPayload[];
  progress: { submitted_by_me: number; remaining: number };
}

export type SkipReason = "poor_quality" | "unsure" | "not_applicable";

export interface StudySeries {
  uid: string;
  description: string;
  modality: string;
  instance_count: number;
  thumbnail_url: string;
}

/** One row of GET /api/v1/studies/ (studies.dicomweb.browser.StudySummary). */
export interface StudySummary {
  uid: string;
  patient_id?: string;
  patient_name?: string;
  date?: string;
  accession_number?: string;
  description?: string;
  modalities?: string;
  series: StudySeries[];
  [extra: string]: unknown;
}

export interface HistoryEntry {
  item: number;
  project?: number;
  submitted_at?: string;
  [extra: string]: unknown;
}

/** One reader of an item under review, in the order they submitted (review keys 1..9). */
export interface Reader {
  id: number;
  username: string;
  submitted_at: string;
}

/** The item's newest adjudication (its version goes back as If-Match). */
export interface Adjudication {
  version: number;
  reviewer: number;
  reviewer_name: string;
  accepted_reader: number | null;
  note: string;
  created_at: string;
}

/** A row of GET /projects/{id}/review/: every reader's current annotations in one call. */
export interface ReviewItem {
  id: number;
  frame: number;
  reads_done: number;
  review_state: "pending" | "reviewed" | "";
  review_reason: string;
  instance: InstanceRef;
  annotations: Annotation[];
  readers: Reader[];
  adjudication: Adjudication | null;
  comments: number;
}

export type ReviewBody =
  | { accept: number; note?: string }
  | {
      payload: {
        labels?: string[];
        annotations?: Array<{ kind: AnnotationKind; frame: number; payload: AnyPayload }>;
      };
      note?: string;
    };

export interface ReviewResult {
  id: number;
  item: number;
  version: number;
  accepted_reader: number | null;
  note: string;
}

export interface ItemComment {
  id: number;
  item: number;
  author: number;
  author_name: string;
  text: string;
  created_at: string;
}
