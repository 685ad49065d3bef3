import { Field } from "../fields";
import type { SectionProps } from "./types";

/** Name and instructions. The instructions are Markdown; the server renders them (raw HTML
 * shown as text, no script links) and the preview shows what doctors will see once saved. */
export function GeneralSection({
  draft,
  set,
  errors,
  savedHtml,
}: SectionProps & { savedHtml: string | null }) {
  return (
    <fieldset className="settings-section">
      <legend>Project</legend>
      <Field id="name" label="Name" errors={errors.fields.name}>
        {(aria) => (
          <input
            {...aria}
            value={draft.name}
            required
            maxLength={200}
            autoFocus
            onChange={(e) => set("name", e.target.value)}
          />
        )}
      </Field>
      <Field
        id="instructions"
        label="Instructions for the doctors (Markdown)"
        errors={errors.fields.instructions}
        hint="Headings, lists, bold, links and tables; HTML is shown as text."
      >
        {(aria) => (
          <textarea
            {...aria}
            rows={5}
            value={draft.instructions}
            onChange={(e) => set("instructions", e.target.value)}
          />
        )}
      </Field>
      {savedHtml ? (
        <details className="instructions-preview">
          <summary>Preview of the saved instructions</summary>
          {/* Safe HTML from the server: markdown-it with raw HTML off (annotations/markdown.py). */}
          <div className="markdown" dangerouslySetInnerHTML={{ __html: savedHtml }} />
        </details>
      ) : null}
    </fieldset>
  );
}
