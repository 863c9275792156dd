'use client';
/**
 * One image in the conversation, uploaded or drawn: the picture (or its progress), a download link, its SEED
 * codes as a grid on request, and "draw from codes": the picture made again from nothing but those codes
 * (32 for SEED-LLaMA, 8 for seed-micro), shown beside it — the round trip through the tokenizer, visible.
 */
import { useState } from 'react';
import type { ImagePart } from '@/lib/chat/types';
import { CodesGrid } from './CodesGrid';
import { DrawProgress } from './DrawProgress';

interface Props {
  image: ImagePart;
  /** Whether this server can draw pictures at all (otherwise generated images are codes only). */
  canDraw: boolean;
  canRedraw: boolean;
  onRedraw: () => void;
}

export function ImageCard({ image, canDraw, canRedraw, onRedraw }: Props) {
  const codesOnly = image.origin === 'generated' && image.codes && !image.src && !image.progress;
  const [showCodes, setShowCodes] = useState(false);
  const label = image.origin === 'upload' ? `Uploaded image ${image.name ?? ''}`.trim() : 'Generated image';
  const writing = image.origin === 'generated' && !image.codes;
  const drawing = image.origin === 'generated' && image.codes && !image.src && image.progress;
  const gridOpen = showCodes || codesOnly;
  const redraw = image.redraw;

  return (
    <figure className="image-card" data-origin={image.origin}>
      <div className="image-pair">
        <div className="image-frame">
          {image.src ? (
            // biome-ignore lint/performance/noImgElement: data URLs of generated pictures; next/image cannot optimise them
            <img src={image.src} alt={label} width={image.width} height={image.height} />
          ) : writing ? (
            <p className="image-placeholder" role="status">
              Writing the image’s codes…
            </p>
          ) : drawing ? (
            <DrawProgress progress={image.progress} label="Drawing the image" />
          ) : codesOnly ? (
            <p className="image-placeholder">
              {canDraw
                ? 'This picture was not drawn.'
                : `This model set has no decoder, so the picture exists only as its ${image.codes?.length} codes:`}
            </p>
          ) : null}
        </div>
        {redraw && (
          <div className="image-frame redraw">
            {redraw.status === 'done' && redraw.src ? (
              // biome-ignore lint/performance/noImgElement: a data URL drawn on the server
              <img src={redraw.src} alt={`${label}, drawn again from its codes`} />
            ) : redraw.status === 'error' ? (
              <p className="inline-error" role="alert">
                {redraw.error}
              </p>
            ) : redraw.queuePosition ? (
              <p className="image-placeholder" role="status">
                Waiting for the model (number {redraw.queuePosition} in the queue)…
              </p>
            ) : (
              <DrawProgress progress={redraw.progress} label="Drawing again from the codes" />
            )}
            <span className="caption">From its {image.codes?.length} codes alone</span>
          </div>
        )}
      </div>
      <figcaption className="image-actions">
        {image.codes && !codesOnly && (
          <button type="button" aria-expanded={showCodes} onClick={() => setShowCodes((v) => !v)}>
            {showCodes ? 'Hide codes' : 'Show codes'}
          </button>
        )}
        {image.codes && canRedraw && (
          <button type="button" onClick={onRedraw} disabled={redraw?.status === 'drawing'}>
            Draw from codes
          </button>
        )}
        {image.src && (
          <a className="button" href={image.src} download={downloadName(image)}>
            Download
          </a>
        )}
        {image.origin === 'upload' && image.codes === undefined && (
          <span className="muted">Codes are not available from this server.</span>
        )}
      </figcaption>
      {gridOpen && image.codes && <CodesGrid codes={image.codes} label={`SEED codes of the ${label.toLowerCase()}`} />}
    </figure>
  );
}

function downloadName(image: ImagePart): string {
  if (image.origin === 'upload' && image.name) return `${image.name.replace(/\.[^.]+$/, '')}-preview.png`;
  return `seed-${image.id}.png`;
}
