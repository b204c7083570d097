import { describe, expect, it } from "vitest";
import { frameRange, pointInVideo } from "./ExcerptFrame";

describe("pointInVideo", () => {
  it("scales a click on the video as shown to the video's own pixels", () => {
    // 320×240 footage shown 640×480: the click at (184, 240) is the video's (92, 120).
    expect(pointInVideo({ x: 184, y: 240 }, { width: 640, height: 480 }, { width: 320, height: 240 })).toEqual({ x: 92, y: 120 });
  });

  it("keeps a click on the edge inside the picture", () => {
    expect(pointInVideo({ x: -3, y: 481 }, { width: 640, height: 480 }, { width: 1920, height: 1080 })).toEqual({ x: 0, y: 1080 });
  });
});

describe("frameRange", () => {
  it("offers the excerpt's frames, not its end", () => {
    expect(frameRange(1, 3)).toEqual({ min: 1, max: 2.9 });
  });

  it("offers the one frame of an excerpt shorter than a step", () => {
    expect(frameRange(2, 2.05)).toEqual({ min: 2, max: 2 });
  });
});
