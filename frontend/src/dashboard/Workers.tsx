/** Live Celery workers, their queues and accelerators, and the broker's queue lengths. */
import type { WorkersData } from "./api";

export function Workers({ data, error }: { data: WorkersData | null; error: string | null }) {
  return (
    <section className="dash-card wide" data-testid="workers" data-points={JSON.stringify(data)}>
      <h2>Workers and queues</h2>
      {error && (
        <p className="error small" role="alert">
          Could not ask the workers: {error}
        </p>
      )}
      {!data && !error && <p className="muted small">Asking the workers…</p>}
      {data && (
        <>
          <p className="small">
            Waiting tasks:{" "}
            {Object.entries(data.queues)
              .map(([name, n]) => `${name} ${n ?? "?"}`)
              .join(" · ")}
          </p>
          {data.workers.length === 0 ? (
            <p className="warn small">
              No worker answered: training and scoring wait until one starts.
            </p>
          ) : (
            <ul className="workers">
              {data.workers.map((w) => (
                <li key={w.name} data-worker={w.name}>
                  <strong>{w.name}</strong>{" "}
                  <span className="muted small">
                    queues {w.queues.join(", ") || "—"} · {w.active_tasks} active
                  </span>
                  <div className="small">
                    {!w.devices
                      ? "devices: no answer (busy)"
                      : w.devices.gpus.length
                        ? w.devices.gpus
                            .map(
                              (g) =>
                                `GPU ${g.index} ${g.name} (${g.memory_free_mb}/${g.memory_total_mb} MiB free)`,
                            )
                            .join("; ")
                        : `CPU only (${w.devices.cpu_threads} threads, torch ${w.devices.torch})`}
                  </div>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
