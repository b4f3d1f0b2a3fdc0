// Photos from the camera, made ready on the tablet before they are queued: turned upright, at most
// 2048 px on the long side, JPEG — a 12-megapixel photo becomes a few hundred KB, which a weak network
// can carry. The camera's EXIF block (time taken, GPS) is carried over with its orientation set to
// "upright", so the server can still read when and where the photo was taken (CONTRACT.md §6).

import { sha256Hex } from "./sha256.js";

const MAX_SIDE = 2048;
export const MAX_PHOTOS = 9;
const QUALITY = 0.85;

/** A File from the camera → {id, blob, width, height, bytes}; throws a Chinese message if unreadable. */
export async function preparePhoto(file) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch (error) {
    throw new Error(`无法读取照片「${file.name}」：不是图片或已损坏`);
  }
  const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  context.imageSmoothingQuality = "high";
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const jpeg = await new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("照片压缩失败"))), "image/jpeg", QUALITY));
  canvas.width = canvas.height = 0;  // frees the pixels at once on a tablet short of memory
  const exif = await cameraExif(file);
  const blob = exif ? await withExif(jpeg, exif) : jpeg;
  const buffer = await blob.arrayBuffer();
  return { id: await sha256Hex(buffer), blob, width, height, bytes: buffer.byteLength };
}

/** The APP1 "Exif" segment of a JPEG file (marker included), its orientation set to 1; or null. */
export async function cameraExif(file) {
  const head = new Uint8Array(await file.slice(0, 256 * 1024).arrayBuffer());
  if (head[0] !== 0xff || head[1] !== 0xd8) return null;
  let at = 2;
  while (at + 4 <= head.length && head[at] === 0xff) {
    const marker = head[at + 1];
    if (marker === 0xda || marker === 0xd9) return null;  // the image data starts: no EXIF before it
    const length = (head[at + 2] << 8) | head[at + 3];
    const end = at + 2 + length;
    if (marker === 0xe1 && end <= head.length && isExifHeader(head, at + 4)) {
      const segment = head.slice(at, end);
      return uprightOrientation(segment) ? segment : null;
    }
    at = end;
  }
  return null;
}

function isExifHeader(bytes, at) {
  return [0x45, 0x78, 0x69, 0x66, 0, 0].every((byte, i) => bytes[at + i] === byte);  // "Exif\0\0"
}

/** Set the orientation tag (0x0112) of IFD0 to 1: the pixels are already upright. False if malformed. */
function uprightOrientation(segment) {
  const tiff = 10;  // FF E1, length (2), "Exif\0\0"
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  if (segment.length < tiff + 8) return false;
  const order = view.getUint16(tiff);
  if (order !== 0x4949 && order !== 0x4d4d) return false;
  const little = order === 0x4949;
  const ifd0 = tiff + view.getUint32(tiff + 4, little);
  if (ifd0 + 2 > segment.length) return false;
  const count = view.getUint16(ifd0, little);
  for (let n = 0; n < count; n++) {
    const entry = ifd0 + 2 + n * 12;
    if (entry + 12 > segment.length) return false;
    if (view.getUint16(entry, little) === 0x0112) view.setUint16(entry + 8, 1, little);
  }
  return true;
}

/** The JPEG with the EXIF segment placed after its SOI (and after a JFIF APP0, if there is one). */
async function withExif(jpeg, exif) {
  const bytes = new Uint8Array(await jpeg.arrayBuffer());
  let at = 2;
  if (bytes[2] === 0xff && bytes[3] === 0xe0) at = 4 + ((bytes[4] << 8) | bytes[5]);
  return new Blob([bytes.subarray(0, at), exif, bytes.subarray(at)], { type: "image/jpeg" });
}
