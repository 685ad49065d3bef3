/** The class buttons: the answer (classification) or the label new shapes get, and N. */
import type { LabelClass, Project } from "../../api/types";

interface Props {
  taskType: Project["task_type"] | undefined;
  labels: LabelClass[];
  /** The classification answer on screen; [] is "no findings". */
  classLabels: string[] | undefined;
  activeLabel: string | null;
  onChoose: (label: LabelClass) => void;
  onNoFindings: () => void;
}

export function LabelButtons({ taskType, labels, classLabels, activeLabel, ...on }: Props) {
  const classification = taskType === "classification";
  return (
    <div className="labels" role="group" aria-label={classification ? "Answer" : "Label to draw"}>
      {labels.map((l, i) => {
        const pressed = classification
          ? Boolean(classLabels?.includes(l.name))
          : activeLabel === l.name;
        return (
          <button
            key={l.id}
            type="button"
            className="label-button"
            aria-pressed={pressed}
            style={{ borderColor: l.color }}
            onClick={() => on.onChoose(l)}
            data-testid={`label-${l.name}`}
          >
            <kbd>{l.shortcut || i + 1}</kbd> {l.name}
          </button>
        );
      })}
      {taskType && !classification && (
        <button
          type="button"
          className="label-button"
          aria-pressed={Array.isArray(classLabels) && classLabels.length === 0}
          onClick={on.onNoFindings}
        >
          <kbd>N</kbd> No findings
        </button>
      )}
    </div>
  );
}
