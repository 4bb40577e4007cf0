import { Link } from "../routing/router";
import { paths } from "../routing/routes";

interface AppHeaderProps {
  /** Unknown until the first query answers. */
  viewerName: string | undefined;
  onSignOut: () => void;
}

export function AppHeader({ viewerName, onSignOut }: AppHeaderProps) {
  return (
    <header className="app-header">
      <h1 className="brand">
        <Link to={paths.projects()}>Worksite</Link>
      </h1>
      <div className="app-header-user">
        {viewerName !== undefined && <span>Signed in as {viewerName}</span>}
        <button type="button" className="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </div>
    </header>
  );
}
