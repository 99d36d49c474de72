import { Layout } from '../layout';

export function NotFoundPage() {
  return (
    <Layout>
      <h1>Page not found</h1>
      <p>
        There is no page at <code>{location.pathname}</code>. <a href="/">Go to the projects</a>.
      </p>
    </Layout>
  );
}
