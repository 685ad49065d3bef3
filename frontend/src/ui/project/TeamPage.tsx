/**
 * A project's team (/app/projects/:id/team): the members with their roles; admins add people
 * by username or e-mail (someone new gets an account and a one-time link, shown here and
 * e-mailed), change roles and remove members. Every change applies on the member's next
 * request: queue, viewer and DICOMweb alike.
 */
import { useCallback, useEffect, useState, type FormEvent } from "react";

import { ApiError } from "../../api/http";
import type { Project, Role } from "../../api/types";
import { useSession } from "../context";
import { useLocation } from "../router";
import { projectApi, type Member, type MemberAdded } from "./api";
import { formErrors } from "./fieldErrors";
import { ProjectAdminNav } from "./ProjectAdminNav";

const ROLES: Array<[Role, string]> = [
  ["annotator", "Annotator: labels images"],
  ["reviewer", "Reviewer: labels, reviews and adjudicates"],
  ["admin", "Admin: settings, team, training"],
];

function reason(err: unknown): string {
  if (err instanceof ApiError && err.body && typeof err.body === "object") {
    const e = formErrors(err.body);
    const all = [...Object.values(e.fields).flat(), ...e.general];
    if (all.length) return all.join(" ");
  }
  return String((err as Error).message ?? err);
}

export function TeamPage({ projectId }: { projectId: number }) {
  const { client } = useSession();
  const { search } = useLocation();
  const http = client.http;
  const [project, setProject] = useState<Project | null>(null);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [loadError, setLoadError] = useState("");
  const [rowMessage, setRowMessage] = useState<{ user: number; text: string } | null>(null);
  const [status, setStatus] = useState(
    search.get("created") ? "Project created. Invite your team." : "",
  );

  const reload = useCallback(async () => {
    try {
      const [p, m] = await Promise.all([
        projectApi.get(http, projectId),
        projectApi.members(http, projectId),
      ]);
      setProject(p);
      setMembers(m);
    } catch (err) {
      setLoadError(reason(err));
    }
  }, [http, projectId]);

  useEffect(() => {
    void reload();
  }, [reload]);

  useEffect(() => {
    if (project) document.title = `Team · ${project.name} · Radloop`;
  }, [project]);

  const isAdmin = project?.my_role === "admin";

  const changeRole = async (member: Member, role: Role) => {
    setRowMessage(null);
    try {
      await projectApi.changeRole(http, projectId, member.user, role);
      setStatus(`${member.username} is now ${role}.`);
    } catch (err) {
      setRowMessage({ user: member.user, text: reason(err) });
    }
    await reload();
  };

  const remove = async (member: Member) => {
    setRowMessage(null);
    try {
      await projectApi.removeMember(http, projectId, member.user);
      setStatus(`${member.username} was removed from the project.`);
    } catch (err) {
      setRowMessage({ user: member.user, text: reason(err) });
    }
    await reload();
  };

  return (
    <main className="page team-page">
      <h1>Team{project ? ` · ${project.name}` : ""}</h1>
      {isAdmin && <ProjectAdminNav projectId={projectId} current="team" />}
      {loadError && (
        <p className="error" role="alert">
          Could not load the team: {loadError}
        </p>
      )}
      <p role="status" aria-live="polite" data-testid="team-status">
        {status}
      </p>
      {isAdmin && (
        <InviteForm
          projectId={projectId}
          onAdded={(m) => {
            setStatus(
              m.invite_link
                ? `${m.username} was invited as ${m.role}.`
                : `${m.username} is ${m.role} in the project.`,
            );
            void reload();
          }}
        />
      )}
      {members && (
        <table className="grid team" data-testid="members">
          <caption className="muted small">
            {members.length} member{members.length === 1 ? "" : "s"}
          </caption>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Role</th>
              {isAdmin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.user} data-testid={`member-${m.username}`}>
                <td>
                  {m.username}
                  {m.pending && <span className="muted small"> · invited, not signed in yet</span>}
                </td>
                <td>
                  {isAdmin ? (
                    <select
                      aria-label={`Role of ${m.username}`}
                      value={m.role}
                      onChange={(e) => void changeRole(m, e.target.value as Role)}
                    >
                      {ROLES.map(([role]) => (
                        <option key={role} value={role}>
                          {role}
                        </option>
                      ))}
                    </select>
                  ) : (
                    m.role
                  )}
                  {rowMessage?.user === m.user && (
                    <p className="error small" role="alert">
                      {rowMessage.text}
                    </p>
                  )}
                </td>
                {isAdmin && (
                  <td>
                    <button type="button" onClick={() => void remove(m)}>
                      Remove <span className="visually-hidden">{m.username}</span>
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </main>
  );
}

function InviteForm({
  projectId,
  onAdded,
}: {
  projectId: number;
  onAdded: (member: MemberAdded) => void;
}) {
  const { client } = useSession();
  const [who, setWho] = useState("");
  const [role, setRole] = useState<Role>("annotator");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [invited, setInvited] = useState<MemberAdded | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError("");
    try {
      const added = await projectApi.addMember(client.http, projectId, who.trim(), role);
      setInvited(added.invite_link ? added : null);
      setWho("");
      onAdded(added);
    } catch (err) {
      setError(reason(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="invite" aria-labelledby="invite-title">
      <h2 id="invite-title">Add or invite someone</h2>
      <form onSubmit={submit} className="invite-form">
        <span className="field">
          <label htmlFor="invite-who">Username or e-mail</label>
          <input
            id="invite-who"
            value={who}
            required
            autoComplete="off"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? "invite-error" : undefined}
            onChange={(e) => setWho(e.target.value)}
          />
        </span>
        <span className="field">
          <label htmlFor="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </span>
        <button type="submit" className="primary" disabled={busy || !who.trim()}>
          Add to project
        </button>
      </form>
      {error && (
        <p id="invite-error" className="error small" role="alert" data-testid="invite-error">
          {error}
        </p>
      )}
      {invited?.invite_link && (
        <div className="invite-link" data-testid="invite-link">
          <label htmlFor="invite-link-value">
            One-time link for {invited.username}: they open it to choose a password
          </label>
          <input id="invite-link-value" readOnly value={invited.invite_link} size={60} />
          <p className="muted small">
            {invited.invite_email_error
              ? `Not e-mailed (${invited.invite_email_error}): pass the link on yourself.`
              : "Also sent by e-mail."}
          </p>
        </div>
      )}
    </section>
  );
}
