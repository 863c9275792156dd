/** What a new chat shows: what this model can do, in two lines, with examples to start from. */
export function EmptyState({ onExample }: { onExample: (text: string, draw: boolean) => void }) {
  return (
    <div className="empty-state">
      <h2>Chat with a model that sees and draws</h2>
      <p>
        SEED-LLaMA reads and writes pictures as 32 discrete <strong>SEED codes</strong>, like words. Attach an image to
        ask about it, or switch on <em>Draw</em> to get a picture — and open any image’s codes to see what the model
        sees.
      </p>
      <div className="examples">
        <button type="button" onClick={() => onExample('a red circle on white', true)}>
          Draw “a red circle on white”
        </button>
        <button type="button" onClick={() => onExample('What is this picture?', false)}>
          Ask “What is this picture?”
        </button>
      </div>
    </div>
  );
}
