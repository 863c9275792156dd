/**
 * The shapes world of the bundled seed-micro model: scenes rendered from a seed, their captions, and the
 * checker that names what an image shows (used by tests, the evaluation and `seed demo`).
 */
export { parseScene } from './checker.js';
export {
  BACKGROUND_NAMES,
  type Background,
  COLOUR_NAMES,
  type Colour,
  caption,
  parseCaption,
  render,
  type Scene,
  type SceneLabel,
  SHAPES,
  type Shape,
  scene,
  WORLD_SIZE,
  WorldRng,
} from './scene.js';
