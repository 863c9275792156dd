/** What a new chat shows: what this model can do, in two lines, with examples to start from. */
export function EmptyState({
  codesPerImage,
  onExample,
}: {
  /** The model's codes per image, once known. */
  codesPerImage: number | undefined;
  onExample: (text: string, draw: boolean) => void;
}) {
  return (
    <div className="empty-state">
      <h2>Chat with a model that sees and draws</h2>
      <p>
        SEED-LLaMA reads and writes pictures as {codesPerImage ? `${codesPerImage} ` : ''}discrete{' '}
        <strong>SEED codes</strong>, like words. Attach an image to ask about it, or switch on <em>Draw</em> to get a
        picture — and open any image’s codes to see what the model sees.
      </p>
      <div className="examples">
        {/* Asked in words, not with Draw on: seed-micro learnt to draw after "Here is a picture.", so a reply
            forced to start with the image (Draw) comes out wrong more often than not with it. */}
        <button type="button" onClick={() => onExample('draw a red circle on a white background', false)}>
          “draw a red circle on a white background”
        </button>
        <button type="button" onClick={() => onExample('What is this picture?', false)}>
          Ask “What is this picture?”
        </button>
      </div>
    </div>
  );
}
