package data

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/draw"
)

// EXIF orientation: cameras and phones store a picture as the sensor saw
// it and record in the EXIF Orientation tag (0x0112) how to turn it for
// display. Decoders in the standard library ignore the tag, so a portrait
// phone photo would reach the network lying on its side. decodeBytes
// applies it for JPEG and WebP; this file is the small reader of that one
// tag (a guard of the decoding, not an EXIF library).
//
// The eight values, by where the stored picture's first row and first
// column belong on the displayed one:
//
//	1 top, left (as stored)      5 left, top (transposed)
//	2 top, right (mirrored)      6 right, top (turn 90 degrees clockwise)
//	3 bottom, right (turned 180) 7 right, bottom (transverse)
//	4 bottom, left (flipped)     8 left, bottom (turn 90 degrees anticlockwise)

// exifOrientation returns the orientation recorded in an encoded picture
// of the given format ("jpeg" or "webp"), or 1 when there is none or it
// cannot be read (a damaged EXIF block is not worth failing a picture for).
func exifOrientation(b []byte, format string) int {
	var tiff []byte
	switch format {
	case "jpeg":
		tiff = jpegExif(b)
	case "webp":
		tiff = webpExif(b)
	}
	if tiff == nil {
		return 1
	}
	return tiffOrientation(tiff)
}

// jpegExif finds the TIFF block of the APP1 "Exif" segment before the
// image data.
func jpegExif(b []byte) []byte {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return nil
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return nil
		}
		marker := b[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7) {
			i += 2
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg[6:]
		}
		i += 2 + n
	}
	return nil
}

// webpExif finds the RIFF "EXIF" chunk of an extended WebP file.
func webpExif(b []byte) []byte {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil
	}
	for i := 12; i+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if n < 0 || i+8+n > len(b) {
			return nil
		}
		if string(b[i:i+4]) == "EXIF" {
			c := b[i+8 : i+8+n]
			return bytes.TrimPrefix(c, []byte("Exif\x00\x00"))
		}
		i += 8 + n + n&1
	}
	return nil
}

// tiffOrientation reads tag 0x0112 of IFD0 of a TIFF block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[ifd:]))
	for e := 0; e < n; e++ {
		o := ifd + 2 + 12*e
		if o+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[o:]) != 0x0112 {
			continue
		}
		var v int
		switch bo.Uint16(t[o+2:]) {
		case 3: // SHORT
			v = int(bo.Uint16(t[o+8:]))
		case 4: // LONG, seen in the wild
			v = int(bo.Uint32(t[o+8:]))
		}
		if v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orientedSize is the displayed width and height of a stored w x h picture.
func orientedSize(w, h, orientation int) (int, int) {
	if orientation >= 5 && orientation <= 8 {
		return h, w
	}
	return w, h
}

// applyOrientation returns the picture as it is meant to be displayed.
// Orientation 1 (or an unknown value) returns img itself.
func applyOrientation(img image.Image, orientation int) image.Image {
	if orientation < 2 || orientation > 8 {
		return img
	}
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	dw, dh := orientedSize(w, h, orientation)
	// src maps a displayed pixel to the stored one (see the table above).
	src := func(dx, dy int) (int, int) {
		switch orientation {
		case 2:
			return w - 1 - dx, dy
		case 3:
			return w - 1 - dx, h - 1 - dy
		case 4:
			return dx, h - 1 - dy
		case 5:
			return dy, dx
		case 6:
			return dy, h - 1 - dx
		case 7:
			return w - 1 - dy, h - 1 - dx
		}
		return w - 1 - dy, dx // 8
	}
	if g, ok := img.(*image.Gray); ok {
		out := image.NewGray(image.Rect(0, 0, dw, dh))
		for dy := 0; dy < dh; dy++ {
			for dx := 0; dx < dw; dx++ {
				sx, sy := src(dx, dy)
				out.Pix[dy*out.Stride+dx] = g.Pix[g.PixOffset(r.Min.X+sx, r.Min.Y+sy)]
			}
		}
		return out
	}
	// Everything else through RGBA (the preprocessing converts to float
	// from RGBA fastest anyway); 16-bit gray keeps its own type.
	if g, ok := img.(*image.Gray16); ok {
		out := image.NewGray16(image.Rect(0, 0, dw, dh))
		for dy := 0; dy < dh; dy++ {
			for dx := 0; dx < dw; dx++ {
				sx, sy := src(dx, dy)
				out.SetGray16(dx, dy, g.Gray16At(r.Min.X+sx, r.Min.Y+sy))
			}
		}
		return out
	}
	rgba, ok := img.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(rgba, rgba.Rect, img, r.Min, draw.Src)
		r = rgba.Rect
	}
	out := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for dy := 0; dy < dh; dy++ {
		for dx := 0; dx < dw; dx++ {
			sx, sy := src(dx, dy)
			so := rgba.PixOffset(r.Min.X+sx, r.Min.Y+sy)
			copy(out.Pix[dy*out.Stride+4*dx:dy*out.Stride+4*dx+4], rgba.Pix[so:so+4])
		}
	}
	return out
}
