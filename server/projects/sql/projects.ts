/** Row shape of tandem.projects as the API shows it. */
export interface Project {
  id: string;
  name: string;
  description: string;
  createdBy: string | null;
  createdAt: Date;
}

export const projectColumns = 'id, name, description, created_by as "createdBy", created_at as "createdAt"';
