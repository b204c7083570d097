// Boxes to mask, drawn with the mouse (or typed) on a still of the clip; kept in the video's own pixels.
import { useRef, useState } from "preact/hooks";
import type { Schemas } from "../api/client";
import { Still, type Stills } from "../components/Still";
import { type MessageKey, useI18n } from "../i18n/i18n";

export type Box = Schemas["MaskBox"];

interface Point {
  x: number;
  y: number;
}

/** The rectangle between two points on the still, in the video's pixels, inside the picture. */
export function boxBetween(a: Point, b: Point, scale: number, video: { width: number; height: number }): Box | null {
  const x = Math.max(0, Math.round(Math.min(a.x, b.x) * scale));
  const y = Math.max(0, Math.round(Math.min(a.y, b.y) * scale));
  const width = Math.min(video.width - x, Math.round(Math.abs(a.x - b.x) * scale));
  const height = Math.min(video.height - y, Math.round(Math.abs(a.y - b.y) * scale));
  return width > 0 && height > 0 ? { x, y, width, height } : null;
}

export function BoxDrawer(props: {
  still: Stills;
  video: { width: number; height: number };
  boxes: Box[];
  onChange: (boxes: Box[]) => void;
}) {
  const { t } = useI18n();
  const image = useRef<HTMLImageElement>(null);
  const [from, setFrom] = useState<Point | null>(null);
  const at = (event: PointerEvent): Point => {
    const box = (event.currentTarget as HTMLElement).getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  };
  const scale = () => props.video.width / (image.current?.clientWidth || props.video.width);
  const shown = (box: Box) => {
    const factor = 1 / scale();
    return {
      left: `${box.x * factor}px`,
      top: `${box.y * factor}px`,
      width: `${box.width * factor}px`,
      height: `${box.height * factor}px`,
    };
  };
  return (
    <div class="box-drawer">
      <div
        class="canvas"
        data-testid="box-canvas"
        onPointerDown={(event) => setFrom(at(event))}
        onPointerUp={(event) => {
          const drawn = from ? boxBetween(from, at(event), scale(), props.video) : null;
          setFrom(null);
          if (drawn) {
            props.onChange([...props.boxes, drawn]);
          }
        }}
      >
        <Still imageRef={image} stills={props.still} index={0} alt={t("still_to_mask")} />
        {props.boxes.map((box, index) => (
          <span key={index} class="mask" style={shown(box)} />
        ))}
      </div>
      <ol class="boxes" aria-label={t("boxes_to_mask")}>
        {props.boxes.map((box, index) => (
          <li key={index}>
            {`${box.x}, ${box.y} · ${box.width}×${box.height}`}
            <button type="button" onClick={() => props.onChange(props.boxes.filter((_, other) => other !== index))}>
              {t("remove")}
            </button>
          </li>
        ))}
      </ol>
      <TypedBox video={props.video} onBox={(box) => props.onChange([...props.boxes, box])} />
    </div>
  );
}

const BOX_FIELD_LABEL: Record<keyof Box, MessageKey> = {
  x: "box_x",
  y: "box_y",
  width: "box_width",
  height: "box_height",
};

/** The same by keyboard: a box typed in the video's pixels. */
function TypedBox({ video, onBox }: { video: { width: number; height: number }; onBox: (box: Box) => void }) {
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
