import { Link } from "../routing/router";
import { paths } from "../routing/routes";

/** The parts of the app the header links to. */
export type Section = "projects" | "agents";

const SECTIONS: { id: Section; label: string; to: string }[] = [
  { id: "projects", label: "Projects", to: paths.projects() },
  { id: "agents", label: "Agents", to: paths.agents() },
];

interface AppHeaderProps {
  /** Unknown until the first query answers. */
  viewerName: string | undefined;
  /** The section the shown screen belongs to, if any. */
  section: Section | null;
  onSignOut: () => void;
}

export function AppHeader({ viewerName, section, onSignOut }: AppHeaderProps) {
  return (
    <header className="app-header">
      <div className="app-header-main">
        <h1 className="brand">
          <Link to={paths.projects()}>Worksite</Link>
        </h1>
        <nav aria-label="Sections" className="app-nav">
          <ul>
            {SECTIONS.map(({ id, label, to }) => (
              <li key={id}>
                <Link
                  to={to}
                  aria-current={id === section ? "true" : undefined}
                >
                  {label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
      </div>
      <div className="app-header-user">
        {viewerName !== undefined && <span>Signed in as {viewerName}</span>}
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
