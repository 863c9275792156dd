/** The conversation as the browser holds it (and keeps in sessionStorage). */

export interface ImageProgress {
  step: number;
  total: number;
}

/** An image drawn again from its codes alone, shown beside the original. */
export interface Redraw {
  status: 'drawing' | 'done' | 'error';
  progress?: ImageProgress;
  queuePosition?: number;
  src?: string;
  error?: string;
}

export interface ImagePart {
  type: 'image';
  id: string;
  origin: 'upload' | 'generated';
  /** For generated images: their index in the answer (the events name images by it). */
  index?: number;
  /** What is shown: the upload's preview, or the drawn PNG, as a data URL. */
  src?: string;
  /** The uploaded file's name. */
  name?: string;
  /** The 32 SEED codes (what the model reads and writes). */
  codes?: number[];
  width?: number;
  height?: number;
  /** Decoder progress while it is being drawn. */
  progress?: ImageProgress;
  redraw?: Redraw;
}

export type ChatPart = { type: 'text'; text: string } | ImagePart;

export type MessageStatus = 'pending' | 'streaming' | 'done' | 'stopped' | 'error';

export interface ChatError {
  message: string;
  /** Whether trying the same request again may help (lost connection, server error, busy). */
  retry: boolean;
}

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  parts: ChatPart[];
  status: MessageStatus;
  /** Waiting for the model: place in its queue (1 = next). */
  queuePosition?: number;
  error?: ChatError;
  /** A remark on how the answer ended (token limit, context). */
  note?: string;
  /** The user asked for a picture (regenerating asks again). */
  draw?: boolean;
}

/** An image attached to the message being written, before it is sent. */
export interface Attachment {
  id: string;
  name: string;
  /** A small preview (data URL) for the chip, the conversation and, without codes, the model. */
  preview?: string;
  codes?: number[] | null;
  status: 'reading' | 'encoding' | 'ready' | 'error';
  error?: string;
}
