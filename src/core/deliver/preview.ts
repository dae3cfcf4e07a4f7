/**
 * The preview of a delivery's location in the editor: the destination's and the deliver node's templates
 * rendered for a sample asset the way a delivery renders them (strict, escaped for the place, checked by
 * the destination's rules), and where that is (the folder, the server, the bucket). Nothing is written or
 * connected to; no credentials are needed.
 */
import { summarize, type Asset } from '../asset';
import { Deliverer, type DeliverAsset } from './deliver';
import { destinationTemplates, kindOf, type DestinationConfig } from './registry';
import { viewOf } from './template';
import { DeliverError, type Destination } from './types';

/** An asset to preview with when no account can give one: the shape the trigger and fetch nodes send. */
export const SAMPLE_ASSET: Asset = {
  id: 'I0000SampleAsset',
  kind: 'image',
  fileName: 'Finish line.jpg',
  fileSize: 8123456,
  width: 6000,
  height: 4000,
  createdAt: '2024-05-01T08:00:00.123456Z',
  modifiedAt: '2024-06-02T09:30:00Z',
  rating: 4,
  flagged: false,
  searchable: true,
  releases: { model: true, property: false },
  ownerId: null,
  organizationId: null,
  photographerId: null,
  iptc: { title: 'Finish line', headline: 'Spring marathon', caption: 'The winner crosses the line', keywords: ['run', 'sport'], copyright: '© Example', city: 'Lyon', country: 'France' },
  custom: { 'Approval Status': 'Approved', 'License Expiration Date': '2027-06-22', Region: 'EMEA' },
  galleries: [{ id: 'G0000SampleGalry', name: 'Marathon' }],
  paths: [{ galleryId: 'G0000SampleGalry', ids: ['C0000SampleColln', 'G0000SampleGalry'], names: ['Spring Launch', 'Marathon'] }],
  path: 'Spring Launch/Marathon',
  versionKey: '8123456-6000x4000-sample',
  metadataKey: '2024-06-02T09:30:00Z',
};

export interface LocationPreview {
  /** The location as a delivery records it (relative path, key or URL). */
  location: string;
  /** Where that is: the full path, sftp://host/path, s3://bucket/key or the URL. */
  where: string;
}

/** Resolves locations by the rules of a kind, without making the destination (SFTP and S3 would want credentials). */
function resolverFor(config: DestinationConfig): Destination {
  const kind = kindOf(config);
  const never = (): never => {
    throw new DeliverError('ECONFIG', 'A preview delivers nothing');
  };
  return { kind: kind.kind, resolve: (rendered) => kind.preview.resolve(config, rendered), put: never, remove: never, close: async () => undefined };
}

/**
 * The location a delivery of `asset` would go to: the node's template (else the destination's) rendered
 * with a message as a trigger sends it. Throws the DeliverError a delivery would throw (ETEMPLATE,
 * EBADPATH), whose message says what is wrong.
 */
export async function previewLocation(config: DestinationConfig, nodeTemplate: string | undefined, asset: Asset = SAMPLE_ASSET): Promise<LocationPreview> {
  const destination = resolverFor(config);
  try {
    const deliverer = new Deliverer({ destination, templates: destinationTemplates(config), name: 'preview' });
    const msg = { topic: 'approved', payload: summarize(asset), asset, event: { type: 'approved' } };
    const location = deliverer.location({ template: nodeTemplate, view: viewOf(msg, { asset: asset as unknown as DeliverAsset }) });
    return { location, where: kindOf(config).preview.where(config, location) };
  } finally {
    await destination.close();
  }
}
