/**
 * A project's model settings (architecture, input size, channels, window, augmentation ranges,
 * what to freeze) and its pretrained weights (upload a checkpoint). Project admins edit; the
 * server checks every value against the registry and a refused value's reason is shown next to
 * its field. Mounted on the dashboard and on the project settings page.
 */
import { useEffect, useState } from "react";

import { ApiError } from "../../api/http";
import { useSession } from "../context";
import { useAsync } from "../useAsync";
import * as api from "./modelSettingsApi";
import type { ModelSettingsData, RangeField } from "./modelSettingsApi";

const AUGMENTATION_LABELS: Record<string, string> = {
  enabled: "Augment training images",
  rotation_deg: "Rotation (± degrees)",
  flip_horizontal: "Flip left–right",
  flip_vertical: "Flip up–down",
  scale_min: "Scale from",
  scale_max: "Scale to",
  crop_shift: "Crop shift (share of side)",
  gamma_min: "Gamma from",
  gamma_max: "Gamma to",
  contrast_min: "Contrast from",
  contrast_max: "Contrast to",
};

const SEMI_LABELS: Record<string, string> = {
  enabled: "Also learn from unlabelled images",
  method: "Method",
  threshold: "Confidence gate",
  max_unlabeled: "Unlabelled images per run (at most)",
  min_steps: "Training steps (at least)",
};

const FREEZE_LABELS: Record<string, string> = {
  none: "Nothing (fine-tune all)",
  backbone_epochs: "The backbone for the first epochs",
  all_but_head: "Everything but the head",
};

function FieldError({ errors, field }: { errors: Record<string, string>; field: string }) {
  if (!errors[field]) return null;
  return (
    <span className="field-error" role="alert" data-testid={`error-${field}`}>
      {errors[field]}
    </span>
  );
}

export function ModelSettings({ projectId, canEdit }: { projectId: number; canEdit: boolean }) {
  const { client } = useSession();
  const http = client.http;
  const registry = useAsync(() => api.registry(http), []);
  const stored = useAsync(() => api.settingsOf(http, projectId), [projectId]);
  const [uploads, setUploads] = useState(0);
  const weights = useAsync(() => api.pretrainedOf(http, projectId), [projectId, uploads]);
  const [draft, setDraft] = useState<ModelSettingsData | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [note, setNote] = useState<string | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (stored.data) setDraft(stored.data);
  }, [stored.data]);

  if (registry.error || stored.error) {
    return (
      <section className="dash-card wide" data-testid="model-settings">
        <h2>Model settings</h2>
        <p className="error" role="alert">
          Could not load the model settings: {registry.error ?? stored.error}
        </p>
      </section>
    );
  }
  const reg = registry.data;
  if (!reg || !draft) {
    return (
      <section className="dash-card wide" data-testid="model-settings">
        <h2>Model settings</h2>
        <p role="status">Loading…</p>
      </section>
    );
  }
  const task = reg.architectures.find((a) => a.name === draft.architecture)?.task_type;
  const choices = reg.architectures.filter((a) => !task || a.task_type === task);
  const setAug = (key: string, value: number | boolean) =>
    setDraft({ ...draft, augmentation: { ...draft.augmentation, [key]: value } });
  const setSemi = (key: string, value: number | boolean | string) =>
    setDraft({ ...draft, semi_supervised: { ...draft.semi_supervised, [key]: value } });
  const numeric = (text: string): number => (text.trim() === "" ? Number.NaN : Number(text));

  const save = (event: React.FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setNote(null);
    api.saveSettings(http, projectId, draft).then(
      (saved) => {
        setBusy(false);
        setErrors({});
        setDraft(saved);
        setNote("Model settings saved: the next training run uses them.");
      },
      (err: unknown) => {
        setBusy(false);
        if (err instanceof ApiError && err.status === 400) {
          setErrors(api.fieldErrors(err.body));
          setNote("Not saved: see the reasons next to the fields.");
        } else {
          setNote(`Not saved: ${String((err as Error).message ?? err)}`);
        }
      },
    );
  };

  const upload = () => {
    if (!file) return;
    setBusy(true);
    setNote(null);
    api.uploadPretrained(http, projectId, file).then(
      (row) => {
        setBusy(false);
        setErrors({});
        setNote(`Checkpoint ${row.original_name} uploaded (sha256 ${row.sha256.slice(0, 12)}…).`);
        setUploads((n) => n + 1);
      },
      (err: unknown) => {
        setBusy(false);
        setErrors(err instanceof ApiError ? api.fieldErrors(err.body) : {});
        setNote(`Upload refused: ${String((err as Error).message ?? err)}`);
      },
    );
  };

  const rangeInput = (key: string, spec: RangeField) =>
    spec.kind === "bool" ? (
      <input
        type="checkbox"
        checked={Boolean(draft.augmentation[key])}
        disabled={!canEdit}
        onChange={(e) => setAug(key, e.target.checked)}
      />
    ) : (
      <input
        type="number"
        step="any"
        value={
          Number.isNaN(draft.augmentation[key] as number) ? "" : String(draft.augmentation[key])
        }
        disabled={!canEdit}
        onChange={(e) => setAug(key, numeric(e.target.value))}
      />
    );
  const current = weights.data?.[0];

  return (
    <section className="dash-card wide model-settings" data-testid="model-settings">
      <h2>Model settings</h2>
      <form onSubmit={save} noValidate>
        <div className="model-settings-grid">
          <label>
            Architecture{" "}
            <select
              value={draft.architecture}
              disabled={!canEdit}
              onChange={(e) => setDraft({ ...draft, architecture: e.target.value })}
            >
              {choices.map((a) => (
                <option key={a.name} value={a.name}>
                  {a.title}
                </option>
              ))}
            </select>
            <FieldError errors={errors} field="architecture" />
          </label>
          <label>
            Input size (px){" "}
            <input
              type="number"
              value={Number.isNaN(draft.input_size) ? "" : draft.input_size}
              disabled={!canEdit}
              onChange={(e) => setDraft({ ...draft, input_size: numeric(e.target.value) })}
            />
            <FieldError errors={errors} field="input_size" />
          </label>
          <label>
            Channels{" "}
            <select
              value={draft.in_channels}
              disabled={!canEdit}
              onChange={(e) => setDraft({ ...draft, in_channels: Number(e.target.value) })}
            >
              {reg.channels.map((c) => (
                <option key={c} value={c}>
                  {c === 1 ? "1 (grey)" : `${c} (grey repeated, for RGB weights)`}
                </option>
              ))}
            </select>
            <FieldError errors={errors} field="in_channels" />
          </label>
          <label>
            Window centre{" "}
            <input
              type="number"
              step="any"
              value={draft.window_center ?? ""}
              placeholder="from the file"
              disabled={!canEdit}
              onChange={(e) =>
                setDraft({
                  ...draft,
                  window_center: e.target.value ? Number(e.target.value) : null,
                })
              }
            />
            <FieldError errors={errors} field="window_center" />
          </label>
          <label>
            Window width{" "}
            <input
              type="number"
              step="any"
              value={draft.window_width ?? ""}
              placeholder="from the file"
              disabled={!canEdit}
              onChange={(e) =>
                setDraft({ ...draft, window_width: e.target.value ? Number(e.target.value) : null })
              }
            />
            <FieldError errors={errors} field="window_width" />
          </label>
        </div>
        <h3>Augmentation</h3>
        <div className="model-settings-grid">
          {Object.entries(reg.augmentation).map(([key, spec]) => (
            <label key={key} title={spec.kind === "bool" ? "" : `${spec.min} to ${spec.max}`}>
              {AUGMENTATION_LABELS[key] ?? key} {rangeInput(key, spec)}
              <FieldError errors={errors} field={`augmentation.${key}`} />
            </label>
          ))}
        </div>
        {(task === "classification" || task === "segmentation") &&
          reg.semi_supervised &&
          draft.semi_supervised && (
            <>
              <h3>Semi-supervised training</h3>
              <p className="small">
                Each run also learns from up to the set number of unlabelled images (FixMatch or
                confidence-gated pseudo-labels; a segmentation model: FixMatch, pixel by pixel); a
                run takes several times longer on a CPU.
              </p>
              <div className="model-settings-grid">
                {Object.entries(reg.semi_supervised).map(([key, spec]) => {
                  const value = draft.semi_supervised[key];
                  const id = `semi-${key}-${projectId}`;
                  let input;
                  if (spec.kind === "bool") {
                    input = (
                      <input
                        id={id}
                        type="checkbox"
                        checked={Boolean(value)}
                        disabled={!canEdit}
                        onChange={(e) => setSemi(key, e.target.checked)}
                      />
                    );
                  } else if (spec.kind === "choice") {
                    input = (
                      <select
                        id={id}
                        value={String(value)}
                        disabled={!canEdit}
                        onChange={(e) => setSemi(key, e.target.value)}
                      >
                        {(spec.choices ?? [])
                          .filter((c) => task !== "segmentation" || c === "fixmatch")
                          .map((c) => (
                            <option key={c} value={c}>
                              {c}
                            </option>
                          ))}
                      </select>
                    );
                  } else {
                    input = (
                      <input
                        id={id}
                        type="number"
                        step="any"
                        value={Number.isNaN(value as number) ? "" : String(value)}
                        disabled={!canEdit}
                        onChange={(e) => setSemi(key, numeric(e.target.value))}
                      />
                    );
                  }
                  return (
                    <div className="field" key={key}>
                      <label
                        htmlFor={id}
                        title={
                          spec.kind === "int" || spec.kind === "float"
                            ? `${spec.min} to ${spec.max}`
                            : ""
                        }
                      >
                        {SEMI_LABELS[key] ?? key}
                      </label>{" "}
                      {input}
                      <FieldError errors={errors} field={`semi_supervised.${key}`} />
                    </div>
                  );
                })}
              </div>
            </>
          )}
        <h3>Transfer learning</h3>
        <div className="model-settings-grid">
          <div className="field">
            {/* Label and select apart: the options' words are not part of the field's name. */}
            <label htmlFor={`freeze-mode-${projectId}`}>Freeze</label>
            <select
              id={`freeze-mode-${projectId}`}
              value={draft.freeze.mode}
              disabled={!canEdit}
              onChange={(e) =>
                setDraft({ ...draft, freeze: { ...draft.freeze, mode: e.target.value } })
              }
            >
              {reg.freeze_modes.map((m) => (
                <option key={m} value={m}>
                  {FREEZE_LABELS[m] ?? m}
                </option>
              ))}
            </select>
            <FieldError errors={errors} field="freeze.mode" />
          </div>
          {draft.freeze.mode === "backbone_epochs" && (
            <div className="field">
              <label htmlFor={`freeze-epochs-${projectId}`}>Backbone frozen for</label>
              <span>
                <input
                  id={`freeze-epochs-${projectId}`}
                  type="number"
                  value={Number.isNaN(draft.freeze.epochs) ? "" : draft.freeze.epochs}
                  disabled={!canEdit}
                  onChange={(e) =>
                    setDraft({
                      ...draft,
                      freeze: { ...draft.freeze, epochs: numeric(e.target.value) },
                    })
                  }
                />{" "}
                epochs
              </span>
              <FieldError errors={errors} field="freeze.epochs" />
            </div>
          )}
        </div>
        {Object.keys(errors)
          .filter((k) => !k.includes(".") && !(k in draft))
          .map((k) => (
            <p key={k} className="field-error" role="alert" data-testid={`error-${k}`}>
              {k}: {errors[k]}
            </p>
          ))}
        {canEdit && (
          <button type="submit" className="primary" disabled={busy}>
            Save model settings
          </button>
        )}
      </form>
      <p className="small" data-testid="pretrained-current">
        {current
          ? `Starting weights: ${current.original_name} (sha256 ${current.sha256.slice(0, 12)}…)`
          : "No starting weights: networks start from random initialisation."}
      </p>
      {canEdit && (
        <div className="upload-row">
          <label>
            Checkpoint file{" "}
            <input
              type="file"
              accept=".pt,.pth,.ckpt,.bin"
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
          </label>
          <button type="button" disabled={busy || !file} onClick={upload}>
            Upload checkpoint
          </button>
          <FieldError errors={errors} field="file" />
        </div>
      )}
      {note && (
        <p className="small" role="status" data-testid="model-settings-note">
          {note}
        </p>
      )}
    </section>
  );
}

export default ModelSettings;
