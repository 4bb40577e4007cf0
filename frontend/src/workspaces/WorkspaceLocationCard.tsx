import type { WorkspaceDetailFragment } from "../graphql/generated";
import { CopyButton } from "../ui/CopyButton";
import { dateTime, orDash } from "../ui/format";

/** The git-level facts of a workspace, laid out for reading and copying. */
export function WorkspaceLocationCard({
  workspace,
}: {
  workspace: WorkspaceDetailFragment;
}) {
  return (
    <section className="card stack" aria-labelledby="location-heading">
      <h3 id="location-heading">Concrete location</h3>
      <dl className="facts">
        <dt>Working dir</dt>
        <dd className="with-copy">
          <code>{orDash(workspace.cwd)}</code>
          {workspace.cwd !== "" && (
            <CopyButton text={workspace.cwd} label="Copy working directory" />
          )}
        </dd>
        <dt>Provider ref</dt>
        <dd>
          <code>{orDash(workspace.providerRef)}</code>
        </dd>
        <dt>Repo URL</dt>
        <dd>
          <RepoUrl url={workspace.repoUrl} />
        </dd>
        <dt>Base ref</dt>
        <dd>
          <code>{orDash(workspace.baseRef)}</code>
        </dd>
        <dt>Branch</dt>
        <dd>
          <code>{orDash(workspace.branchName)}</code>
        </dd>
        <dt>Opened</dt>
        <dd>{dateTime(workspace.openedAt)}</dd>
        <dt>Last used</dt>
        <dd>{dateTime(workspace.lastUsedAt)}</dd>
        <dt>Cleanup</dt>
        <dd>
          {workspace.cleanupEligibleAt === null ? (
            "Not scheduled"
          ) : (
            <>
              Eligible at {dateTime(workspace.cleanupEligibleAt)}
              {workspace.cleanupReason !== null &&
                workspace.cleanupReason !== "" &&
                `: ${workspace.cleanupReason}`}
            </>
          )}
        </dd>
        {workspace.savedWorkRef !== null && (
          <>
            <dt>Saved work</dt>
            <dd className="with-copy">
              <code>{workspace.savedWorkRef}</code>
              <CopyButton
                text={workspace.savedWorkRef}
                label="Copy saved-work ref"
              />
            </dd>
          </>
        )}
        {workspace.drift.length > 0 && (
          <>
            <dt>Drift</dt>
            <dd>
              <ul className="plain-list error-text">
                {workspace.drift.map((line) => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

export function isWebUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

function RepoUrl({ url }: { url: string }) {
  if (!isWebUrl(url)) return <code>{orDash(url)}</code>;
  return (
    <a href={url} target="_blank" rel="noreferrer">
      {url}
    </a>
  );
}
