import { useSession } from "./auth/session";
import { SignIn } from "./auth/SignIn";
import { ApiProvider } from "./graphql/ApiProvider";
import { Shell } from "./Shell";

export function App() {
  const session = useSession();

  if (session.token === null) {
    return <SignIn notice={session.notice} onSignIn={session.signIn} />;
  }
  return (
    <ApiProvider
      key={session.token}
      token={session.token}
      onRefused={session.refuse}
    >
      <Shell onSignOut={session.signOut} />
    </ApiProvider>
  );
}
