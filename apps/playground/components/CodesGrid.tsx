/**
 * An image's SEED codes (32 for SEED-LLaMA, 8 for seed-micro) as a grid, in the order the model reads them. Each cell's colour is a hash of its
 * code, so equal codes look equal at a glance; the number is the code (the token is `<img_0XXXX>`).
 */
export function CodesGrid({ codes, label }: { codes: number[]; label: string }) {
  return (
    <ol className="codes-grid" aria-label={label} data-codes={codes.join(',')}>
      {codes.map((code, i) => (
        <li
          // Position is the identity here: the same code may appear twice.
          // biome-ignore lint/suspicious/noArrayIndexKey: codes are a fixed-length sequence
          key={i}
          title={`position ${i + 1}: code ${code} (token <img_${String(code).padStart(5, '0')}>)`}
          style={{ '--code-hue': `${(code * 137.508) % 360}deg` } as React.CSSProperties}
        >
          {code}
        </li>
      ))}
    </ol>
  );
}
