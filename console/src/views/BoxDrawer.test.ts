import { describe, expect, it } from "vitest";
import { boxBetween, covers } from "./BoxDrawer";

const video = { width: 320, height: 240 };

describe("boxBetween", () => {
  it("gives the box between two points of a picture shown twice as big, in the video's pixels", () => {
    expect(boxBetween({ x: 140, y: 110 }, { x: 20, y: 20 }, 0.5, video)).toEqual({ x: 10, y: 10, width: 60, height: 45 });
  });

  it("keeps a box dragged past the picture's edge inside the picture", () => {
    expect(boxBetween({ x: 600, y: 400 }, { x: 700, y: 520 }, 0.5, video)).toEqual({ x: 300, y: 200, width: 20, height: 40 });
  });

  it("gives no box for a drag without area", () => {
    expect(boxBetween({ x: 10, y: 10 }, { x: 10, y: 90 }, 0.5, video)).toBeNull();
  });
});

describe("covers", () => {
  const box = { x: 0, y: 0, width: 10, height: 10, first_s: 1, last_s: 2 };

  it("masks the frames of its span, both ends included", () => {
    expect([0.9, 1, 1.5, 2, 2.1].map((seconds) => covers(box, seconds))).toEqual([false, true, true, true, false]);
  });
});
