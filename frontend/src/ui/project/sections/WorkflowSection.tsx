import { CheckField, Field, numberValue } from "../fields";
import type { SectionProps } from "./types";

/** Who reads what and when: readers per item, review, suggestions, lease, de-identification. */
export function WorkflowSection({ draft, set, errors, choices }: SectionProps) {
  return (
    <fieldset className="settings-section">
      <legend>Reading and review</legend>
      <Field
        id="readers_per_item"
        label="Readers per item"
        errors={errors.fields.readers_per_item}
        hint="Independent reads before an item counts as done; disagreements go to review."
      >
        {(aria) => (
          <input
            {...aria}
            type="number"
            inputMode="numeric"
            value={Number.isNaN(draft.readers_per_item) ? "" : draft.readers_per_item}
            onChange={(e) => set("readers_per_item", numberValue(e.target.value))}
          />
        )}
      </Field>
      <CheckField
        id="require_review"
        label="Every item needs a reviewer's answer"
        checked={draft.require_review}
        onChange={(v) => set("require_review", v)}
        errors={errors.fields.require_review}
      />
      <Field
        id="review_sample_rate"
        label="Review sampling (share of agreed items also reviewed, 0 to 1)"
        errors={errors.fields.review_sample_rate}
      >
        {(aria) => (
          <input
            {...aria}
            type="number"
            step="0.05"
            value={Number.isNaN(draft.review_sample_rate) ? "" : draft.review_sample_rate}
            onChange={(e) => set("review_sample_rate", numberValue(e.target.value))}
          />
        )}
      </Field>
      <Field id="suggestions" label="Model suggestions" errors={errors.fields.suggestions}>
        {(aria) => (
          <select
            {...aria}
            value={draft.suggestions}
            onChange={(e) => set("suggestions", e.target.value as typeof draft.suggestions)}
          >
            {choices.suggestion_modes.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}: {m.description}
              </option>
            ))}
          </select>
        )}
      </Field>
      {draft.task_type === "detection" && (
        <Field
          id="box_threshold"
          label="Show a model's boxes scoring at least (0 to 1)"
          errors={errors.fields.box_threshold}
        >
          {(aria) => (
            <input
              {...aria}
              type="number"
              step="0.05"
              value={Number.isNaN(draft.box_threshold) ? "" : draft.box_threshold}
              onChange={(e) => set("box_threshold", numberValue(e.target.value))}
            />
          )}
        </Field>
      )}
      <Field
        id="lease_seconds"
        label="Lease length (seconds a doctor holds an item)"
        errors={errors.fields.lease_seconds}
      >
        {(aria) => (
          <input
            {...aria}
            type="number"
            value={Number.isNaN(draft.lease_seconds) ? "" : draft.lease_seconds}
            onChange={(e) => set("lease_seconds", numberValue(e.target.value))}
          />
        )}
      </Field>
      <CheckField
        id="deidentify"
        label="De-identify: doctors never see patient names or IDs"
        checked={draft.deidentify}
        onChange={(v) => set("deidentify", v)}
        errors={errors.fields.deidentify}
      />
    </fieldset>
  );
}
