/**
 * The hyperparameter search: an admin starts one (trial count, time budget, most epochs), its
 * trials appear with their validation AUC as they finish, the best marked; cancel like a run.
 */
import { useState } from "react";

import type { SearchRequest, TrainingRun } from "./api";
import { fmt } from "./ModelCharts";

const LIVE = new Set(["queued", "running"]);

interface Props {
  searches: TrainingRun[];
  canAct: boolean;
  busy: boolean;
  onStart: (request: SearchRequest) => void;
  onCancel: (run: TrainingRun) => void;
}

export function SearchPanel({ searches, canAct, busy, onStart, onCancel }: Props) {
  const [trials, setTrials] = useState("6");
  const [budget, setBudget] = useState("1800");
  const [epochs, setEpochs] = useState("20");
  const latest = searches[0];
  const search = latest?.progress?.search;

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    onStart({ trials: Number(trials), time_budget_s: Number(budget), max_epochs: Number(epochs) });
  };

  return (
    <section className="dash-card wide" data-testid="hparam-search">
      <h2>Hyperparameter search</h2>
      <p className="small muted">
        Learning rate, epochs, weight decay and augmentation strength sampled by Optuna; each trial
        is scored on the validation split only, and the best settings are retrained and promoted
        under the usual rule on the locked test split.
      </p>
      {canAct && (
        <form className="retrain" onSubmit={submit}>
          <label>
            Trials{" "}
            <input
              type="number"
              min={1}
              max={50}
              value={trials}
              onChange={(e) => setTrials(e.target.value)}
            />
          </label>
          <label>
            Time budget (s){" "}
            <input
              type="number"
              min={10}
              value={budget}
              onChange={(e) => setBudget(e.target.value)}
            />
          </label>
          <label>
            Most epochs{" "}
            <input
              type="number"
              min={1}
              max={100}
              value={epochs}
              onChange={(e) => setEpochs(e.target.value)}
            />
          </label>
          <button type="submit" className="primary" disabled={busy}>
            Start search
          </button>
        </form>
      )}
      {!latest ? (
        <p className="muted small">No search yet.</p>
      ) : (
        <>
          <p className="small" data-testid="search-status" data-status={latest.status}>
            Search #{latest.id}: {latest.status}
            {search
              ? ` · ${search.trials.length}/${search.trials_requested} trials in ${Math.round(search.seconds)} s (budget ${search.time_budget_s} s)`
              : ""}
            {latest.model_version ? ` · model #${latest.model_version}` : ""}
            {latest.error ? ` · ${latest.error.split("\n")[0]}` : ""}{" "}
            {canAct && LIVE.has(latest.status) && !latest.cancel_requested && (
              <button type="button" disabled={busy} onClick={() => onCancel(latest)}>
                Cancel search
              </button>
            )}
          </p>
          {search && search.trials.length > 0 && (
            <table className="grid" data-testid="search-trials">
              <thead>
                <tr>
                  <th>trial</th>
                  <th>learning rate</th>
                  <th>epochs</th>
                  <th>weight decay</th>
                  <th>augmentation</th>
                  <th>validation AUC</th>
                  <th>state</th>
                  <th>seconds</th>
                </tr>
              </thead>
              <tbody>
                {search.trials.map((t) => (
                  <tr
                    key={t.number}
                    data-trial={t.number}
                    aria-current={t.number === search.best_trial}
                  >
                    <td>
                      {t.number}
                      {t.number === search.best_trial ? " ★ best" : ""}
                    </td>
                    <td>{t.params.learning_rate.toExponential(2)}</td>
                    <td>{t.params.max_epochs}</td>
                    <td>{t.params.weight_decay.toExponential(2)}</td>
                    <td>{t.params.augment_strength.toFixed(2)}×</td>
                    <td>{fmt(t.val_auc)}</td>
                    <td>{t.state}</td>
                    <td>{t.seconds.toFixed(0)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
