/** Search the archive and attach chosen studies, series or instances to the project. */
import { useState } from "react";

import { ApiError } from "../../api/http";
import { useSession } from "../context";
import {
  attachChoice,
  emptyChoice,
  searchArchive,
  seriesInstances,
  type ArchiveInstance,
  type ArchivePage,
  type ArchiveQuery,
  type ArchiveStudy,
  type AttachResult,
  type Choice,
} from "./archiveSearch";

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function AddExisting({ projectId }: { projectId: number }) {
  const { client } = useSession();
  const [form, setForm] = useState<ArchiveQuery>({});
  const [page, setPage] = useState<ArchivePage | null>(null);
  const [query, setQuery] = useState<ArchiveQuery>({});
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [choice, setChoice] = useState<Choice>(emptyChoice);
  const [open, setOpen] = useState<Record<string, ArchiveInstance[]>>({});
  const [result, setResult] = useState<AttachResult | null>(null);

  const search = async (q: ArchiveQuery) => {
    setBusy(true);
    setError("");
    try {
      setPage(await searchArchive(client, q));
      setQuery(q);
    } catch (err) {
      setError(err instanceof ApiError ? err.details.join("; ") || err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const toggle = <K,>(set: Set<K> | Map<K, string>, key: K, value?: string) => {
    const next = { ...choice };
    if (set instanceof Set) {
      const copy = new Set(set);
      if (copy.has(key)) copy.delete(key);
      else copy.add(key);
      next.studies = copy as Set<string>;
    } else {
      const copy = new Map(set);
      if (copy.has(key)) copy.delete(key);
      else copy.set(key, value ?? "");
      if (set === choice.series) next.series = copy as Map<string, string>;
      else next.instances = copy as Map<string, string>;
    }
    setChoice(next);
    setResult(null);
  };

  const chosen = choice.studies.size + choice.series.size + choice.instances.size;
  const attach = async () => {
    setBusy(true);
    setError("");
    try {
      setResult(await attachChoice(client, projectId, choice));
      setChoice(emptyChoice());
    } catch (err) {
      setError(err instanceof ApiError ? err.details.join("; ") || err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const field = (key: keyof ArchiveQuery, label: string, placeholder = "") => (
    <label>
      {label}
      <input
        name={key}
        value={(form[key] as string | undefined) ?? ""}
        placeholder={placeholder}
        onChange={(e) => setForm({ ...form, [key]: e.target.value })}
      />
    </label>
  );

  const showInstances = async (study: ArchiveStudy, seriesUid: string) => {
    if (open[seriesUid]) {
      const rest = { ...open };
      delete rest[seriesUid];
      setOpen(rest);
      return;
    }
    try {
      const found = await seriesInstances(client, study.uid, seriesUid);
      setOpen({ ...open, [seriesUid]: found });
    } catch (err) {
      setError(String((err as Error).message));
    }
  };

  return (
    <section aria-labelledby="existing-title" className="add-existing">
      <h2 id="existing-title">Add existing studies</h2>
      <form
        className="search"
        role="search"
        aria-label="Search the archive"
        onSubmit={(e) => {
          e.preventDefault();
          void search({ ...form, page: 1 });
        }}
      >
        {field("patient", "Patient name or ID")}
        {field("description", "Study description")}
        {field("modality", "Modality", "CT")}
        {field("date_from", "From", "YYYYMMDD")}
        {field("date_to", "To", "YYYYMMDD")}
        <button type="submit" disabled={busy}>
          Search
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {result && (
        <p role="status" data-testid="attach-result">
          Attached {plural(result.studies, "study", "studies")},{" "}
          {plural(result.series, "series", "series")},{" "}
          {plural(result.instances, "instance", "instances")}:{" "}
          {plural(result.items_created, "new item", "new items")}
          {result.items_created < result.instances ? " (the rest were in the project already)" : ""}
        </p>
      )}
      {page && (
        <>
          <p className="muted">{plural(page.count, "study", "studies")} found</p>
          <table className="grid" data-testid="archive-results">
            <thead>
              <tr>
                <th>Add</th>
                <th>Patient</th>
                <th>Date</th>
                <th>Study</th>
                <th>Series (tick to add only some)</th>
              </tr>
            </thead>
            <tbody>
              {page.results.map((study) => (
                <tr key={study.uid}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Add study ${study.description || study.uid}`}
                      checked={choice.studies.has(study.uid)}
                      onChange={() => toggle(choice.studies, study.uid)}
                    />
                  </td>
                  <td>
                    {study.patient_name || "—"} <span className="muted">{study.patient_id}</span>
                  </td>
                  <td>{study.date}</td>
                  <td>{study.description || study.uid}</td>
                  <td>
                    <ul className="outcomes">
                      {study.series.map((se) => (
                        <li key={se.uid}>
                          <label>
                            <input
                              type="checkbox"
                              disabled={choice.studies.has(study.uid)}
                              checked={choice.studies.has(study.uid) || choice.series.has(se.uid)}
                              onChange={() => toggle(choice.series, se.uid, study.uid)}
                            />{" "}
                            {se.modality} {se.description || `series ${se.number ?? ""}`} (
                            {se.instance_count})
                          </label>{" "}
                          <button
                            type="button"
                            className="link small"
                            aria-expanded={!!open[se.uid]}
                            onClick={() => void showInstances(study, se.uid)}
                          >
                            instances
                          </button>
                          {open[se.uid] && (
                            <div className="instance-picks">
                              {open[se.uid].map((inst) => (
                                <label key={inst.sop} className="small">
                                  <input
                                    type="checkbox"
                                    disabled={
                                      choice.studies.has(study.uid) || choice.series.has(se.uid)
                                    }
                                    checked={choice.instances.has(inst.sop)}
                                    onChange={() => toggle(choice.instances, inst.sop, se.uid)}
                                  />
                                  {inst.number ?? inst.sop}
                                </label>
                              ))}
                            </div>
                          )}
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <div className="pager">
            <button
              type="button"
              disabled={!page.previous || busy}
              onClick={() => void search({ ...query, page: (query.page ?? 1) - 1 })}
            >
              Previous
            </button>
            <button
              type="button"
              disabled={!page.next || busy}
              onClick={() => void search({ ...query, page: (query.page ?? 1) + 1 })}
            >
              Next
            </button>
            <span className="spacer" />
            <button type="button" disabled={!chosen || busy} onClick={() => void attach()}>
              Attach {chosen ? `(${chosen} chosen)` : ""} to the project
            </button>
          </div>
        </>
      )}
    </section>
  );
}
