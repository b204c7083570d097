// Boxes to mask, drawn with the mouse (or typed) on a picture of the clip and kept in the video's own pixels,
// each masked over its own span of the excerpt: one drawn on the still over the whole excerpt, one drawn on a
// frame from that frame on. Several boxes with spans one after another make a manual track.
import { useRef, useState } from "preact/hooks";
import type { Schemas } from "../api/client";
import { Still, type Stills } from "../components/Still";
import { type MessageKey, useI18n } from "../i18n/i18n";

export type Box = Schemas["MaskBox"];
export type ManualBox = Schemas["ManualBoxSpec"];

export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

export interface Span {
  start_s: number;
  end_s: number;
}

// A press and release this close together (in screen pixels) is a click, not a box.
const CLICK_SLOP_PX = 4;

/** The rectangle between two points on the picture, in the video's pixels, inside the picture. */
export function boxBetween(a: Point, b: Point, scale: number, video: Size): Box | null {
  const x = Math.max(0, Math.round(Math.min(a.x, b.x) * scale));
  const y = Math.max(0, Math.round(Math.min(a.y, b.y) * scale));
  const width = Math.min(video.width - x, Math.round(Math.abs(a.x - b.x) * scale));
  const height = Math.min(video.height - y, Math.round(Math.abs(a.y - b.y) * scale));
  return width > 0 && height > 0 ? { x, y, width, height } : null;
}

/** The box masked over the whole excerpt. */
export function overExcerpt(box: Box, span: Span): ManualBox {
  return { ...box, first_s: span.start_s, last_s: span.end_s };
}

/** Whether the box masks the frame at `seconds`. */
export function covers(box: ManualBox, seconds: number): boolean {
  return box.first_s <= seconds && seconds <= box.last_s;
}

/**
 * Pointer handlers for a picture `shownWidth()` pixels wide of a video `video` big: a drag gives a box in the
 * video's pixels, a click (where one is wanted) the point clicked, in the picture's own pixels.
 */
export function useDrawing(video: Size, shownWidth: () => number, onBox: (box: Box) => void, onClick?: (at: Point) => void) {
  const [from, setFrom] = useState<Point | null>(null);
  const at = (event: PointerEvent): Point => {
    const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  };
  const scale = () => video.width / (shownWidth() || video.width);
  const handlers = {
    onPointerDown: (event: PointerEvent) => setFrom(at(event)),
    onPointerUp: (event: PointerEvent) => {
      const to = at(event);
      setFrom(null);
      if (from === null) {
        return;
      }
      if (Math.abs(from.x - to.x) < CLICK_SLOP_PX && Math.abs(from.y - to.y) < CLICK_SLOP_PX) {
        onClick?.(to);
        return;
      }
      const drawn = boxBetween(from, to, scale(), video);
      if (drawn) {
        onBox(drawn);
      }
    },
  };
  return { handlers, scale };
}

/** A box drawn over the picture, placed in the picture's pixels. */
export function ShownMask({ box, scale }: { box: Box; scale: number }) {
  const style = {
    left: `${box.x / scale}px`,
    top: `${box.y / scale}px`,
    width: `${box.width / scale}px`,
    height: `${box.height / scale}px`,
  };
  return <span class="mask" style={style} />;
}

/** The still to draw on: its boxes are masked over the whole excerpt. */
export function StillBoxes(props: { still: Stills; video: Size; boxes: ManualBox[]; onBox: (box: Box) => void }) {
  const { t } = useI18n();
  const image = useRef<HTMLImageElement>(null);
  const drawing = useDrawing(props.video, () => image.current?.clientWidth ?? 0, props.onBox);
  return (
    <div class="box-drawer">
      <div class="canvas" data-testid="box-canvas" {...drawing.handlers}>
        <Still imageRef={image} stills={props.still} index={0} alt={t("still_to_mask")} />
        {props.boxes.map((box, index) => (
          <ShownMask key={index} box={box} scale={drawing.scale()} />
        ))}
      </div>
    </div>
  );
}

/** The boxes drawn so far, each with the span it is masked over (editable), and one more by numbers. */
export function BoxList(props: { boxes: ManualBox[]; span: Span; video: Size; onChange: (boxes: ManualBox[]) => void }) {
  const { t } = useI18n();
  const change = (index: number, update: Partial<ManualBox>) =>
    props.onChange(props.boxes.map((box, other) => (other === index ? { ...box, ...update } : box)));
  const seconds = (name: "first_s" | "last_s", index: number, box: ManualBox) => (
    <label class="check">
      {t(name === "first_s" ? "box_from" : "box_to")}
      <input
        type="number"
        min={props.span.start_s}
        max={props.span.end_s}
        step={0.1}
        value={box[name]}
        onInput={(event) => change(index, { [name]: Number(event.currentTarget.value) })}
      />
    </label>
  );
  return (
    <>
      <ol class="boxes" aria-label={t("boxes_to_mask")}>
        {props.boxes.map((box, index) => (
          <li key={index}>
            <span>{`${box.x}, ${box.y} · ${box.width}×${box.height}`}</span>
            {seconds("first_s", index, box)}
            {seconds("last_s", index, box)}
            <button type="button" onClick={() => props.onChange(props.boxes.filter((_, other) => other !== index))}>
              {t("remove")}
            </button>
          </li>
        ))}
      </ol>
      <TypedBox video={props.video} onBox={(box) => props.onChange([...props.boxes, overExcerpt(box, props.span)])} />
    </>
  );
}

const BOX_FIELD_LABEL: Record<keyof Box, MessageKey> = {
  x: "box_x",
  y: "box_y",
  width: "box_width",
  height: "box_height",
};

/** The same by keyboard: a box typed in the video's pixels. */
function TypedBox({ video, onBox }: { video: Size; onBox: (box: Box) => void }) {
  const { t } = useI18n();
  const [values, setValues] = useState({ x: 0, y: 0, width: 0, height: 0 });
  const field = (name: keyof typeof values, max: number) => (
    <label>
      {t(BOX_FIELD_LABEL[name])}
      <input
        type="number"
        min={0}
        max={max}
        value={values[name]}
        onInput={(event) => setValues({ ...values, [name]: Number(event.currentTarget.value) })}
      />
    </label>
  );
  return (
    <fieldset class="typed-box">
      <legend>{t("box_by_numbers")}</legend>
      {field("x", video.width)}
      {field("y", video.height)}
      {field("width", video.width)}
      {field("height", video.height)}
      <button
        type="button"
        onClick={() => {
          const box = boxBetween({ x: values.x, y: values.y }, { x: values.x + values.width, y: values.y + values.height }, 1, video);
          if (box) {
            onBox(box);
          }
        }}
      >
        {t("add_box")}
      </button>
    </fieldset>
  );
}
