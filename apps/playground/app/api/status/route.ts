/** GET /api/status: requests running and waiting on the model (the browser tests wait for it to be idle). */
import { backend } from '@/lib/server/model-host';

export const dynamic = 'force-dynamic';

export function GET(): Response {
  return Response.json(backend().status());
}
