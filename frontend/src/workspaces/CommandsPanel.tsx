import type { WorkspaceDetailFragment } from "../graphql/generated";
import { SOURCE_LABELS } from "./labels";

type Command = WorkspaceDetailFragment["commands"][number];

/**
 * The Workspace commands panel above the tabs: where the runtime config
 * comes from, the services it defines and the one-shot jobs.
 */
export function CommandsPanel({
  workspace,
}: {
  workspace: WorkspaceDetailFragment;
}) {
  const services = workspace.commands.filter((c) => c.kind === "SERVICE");
  const jobs = workspace.commands.filter((c) => c.kind === "JOB");
  const noConfig = workspace.runtimeConfigSource === "NONE";

  return (
    <section className="card stack" aria-labelledby="commands-heading">
      <div className="card-heading">
        <h3 id="commands-heading">Workspace commands</h3>
        <p className="muted small">
          Runtime config source:{" "}
          <strong>{SOURCE_LABELS[workspace.runtimeConfigSource]}</strong>
        </p>
      </div>
      {workspace.cwd === "" && (
        <p className="hint">
          This workspace has no working directory, so no command can run in it.
          Set one under Configuration, Workspace settings.
        </p>
      )}
      <div className="commands">
        <div className="stack">
          <h4>Services</h4>
          {noConfig ? (
            <p className="muted">
              No runtime config: define services on the project workspace, or
              override the runtime config on this workspace.
            </p>
          ) : services.length === 0 ? (
            <p className="muted">The runtime config defines no services.</p>
          ) : (
            <CommandList commands={services} />
          )}
        </div>
        <div className="stack">
          <h4>Jobs</h4>
          {jobs.length === 0 ? (
            <p className="muted">No jobs defined.</p>
          ) : (
            <CommandList commands={jobs} />
          )}
        </div>
      </div>
    </section>
  );
}

function CommandList({ commands }: { commands: Command[] }) {
  return (
    <ul className="command-list">
      {commands.map((command) => (
        <li key={command.name} className="command">
          <div>
            <strong>{command.name}</strong>
            <code className="muted small">{command.command}</code>
          </div>
        </li>
      ))}
    </ul>
  );
}
