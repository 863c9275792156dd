/**
 * JSON as the weight formats mean it, stricter than JSON.parse: JSON.parse keeps the last of two equal keys,
 * so a safetensors header naming a tensor twice would show seed one tensor and another reader the other;
 * and it accepts escaped lone surrogates ("\ud800"), which are not Unicode and have no UTF-8 form. Callers
 * check the text with {@link repeatedKey} and the strings they use with {@link isWellFormedText}.
 */

/**
 * The first key that an object of `text` (valid JSON, already parsed) holds twice, as the path of keys from
 * the root down to it: ['t'] when the top-level object names `t` twice, ['t', 'dtype'] when the object
 * under `t` has two `dtype` fields. Undefined when every object's keys are distinct.
 */
export function repeatedKey(text: string): string[] | undefined {
  // One frame per open container: its keys so far (null for an array) and the key it is the value of.
  const frames: { keys: Set<string> | null; key: string }[] = [];
  let expectKey = false; // the next string is a key: right after '{', or after ',' inside an object
  let lastKey = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: find its closing quote (a backslash escapes the next character), then skip past it.
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      const frame = frames[frames.length - 1];
      if (expectKey && frame?.keys) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (frame.keys.has(key)) return [...frames.slice(1).map((f) => f.key), key];
        frame.keys.add(key);
        lastKey = key;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b) {
      frames.push({ keys: new Set(), key: lastKey });
      expectKey = true;
    } else if (c === 0x5b) {
      frames.push({ keys: null, key: lastKey });
      expectKey = false;
    } else if (c === 0x7d || c === 0x5d) {
      frames.pop();
    } else if (c === 0x2c) {
      expectKey = frames[frames.length - 1]?.keys != null;
    }
  }
  return undefined;
}

/** Whether `s` is well-formed Unicode (no lone surrogate), i.e. has a UTF-8 encoding. */
export function isWellFormedText(s: string): boolean {
  // With the u flag a surrogate pair is one code point, so only a lone surrogate matches.
  return !/\p{Surrogate}/u.test(s);
}
