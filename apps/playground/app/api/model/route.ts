/** GET /api/model: the model set's name, devices, load state and what it can do (starts loading it). */
import { backend } from '@/lib/server/model-host';

export const dynamic = 'force-dynamic';

export function GET(): Response {
  return Response.json(backend().info());
}
