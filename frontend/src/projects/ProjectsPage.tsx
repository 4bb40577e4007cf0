import { useQuery } from "urql";

import { ProjectsPageDocument } from "../graphql/generated";
import { useTitle } from "../routing/router";
import { LoadState } from "../ui/Loading";
import { ProjectList } from "./ProjectList";

export function ProjectsPage() {
  const [{ data, fetching, error }] = useQuery({ query: ProjectsPageDocument });
  useTitle("Projects");

  return (
    <>
      <h2>Projects</h2>
      {data !== undefined ? (
        <ProjectList projects={data.projects} />
      ) : (
        <LoadState what="the projects" fetching={fetching} error={error} />
      )}
    </>
  );
}
