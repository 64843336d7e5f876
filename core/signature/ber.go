package signature

import (
	"errors"
	"fmt"
)

// BER to DER. RFC 5652 lets a CMS travel in BER, and streaming signers use
// it: `openssl cms -sign -stream` writes indefinite lengths and cuts the
// content into a constructed OCTET STRING. Go's encoding/asn1 reads DER
// only, so a CMS is normalised first, following ITU-T X.690 (02/2021):
//
//   - §8.1.3.6: the indefinite form (length octet 0x80, ended by two zero
//     octets) becomes the definite form;
//   - §10.1: a length is written in the fewest octets;
//   - §10.2 with §8.7.3 and §8.23.6: an OCTET STRING or a restricted
//     character string in the constructed form becomes primitive, its
//     segments joined.
//
// SET OF elements are not re-sorted (X.690 §11.6): signers sign their signed
// attributes in the order they send them, and OpenSSL verifies them so
// (CMS_Attributes_Verify keeps the received order). What RFC 5652 §5.4
// requires, the DER encoding of the attributes' lengths and values, is what
// this gives. A constructed BIT STRING, or a constructed string under an
// implicit context tag (which cannot be told from any other constructed
// value without the schema), is left to the parser to refuse.
//
// No well-kept Go library exports this: smimesign's ietf-cms protocol.BER2DER
// (unmaintained since 2021) indexes past the end of truncated input, has no
// depth bound and keeps constructed strings; the pkcs7 forks keep theirs
// unexported. So it is written here, bounded and fuzzed (FuzzBERToDER).

const (
	maxBERDepth    = 64      // a CMS with a timestamp token nests about 25 deep
	maxBERElements = 1 << 20 // far above any real CMS; bounds the work and memory
)

var errBERTruncated = errors.New("ber: truncated")

// toDER returns in itself when it is already DER in its lengths and string
// forms (the usual case, which costs one pass over the headers), and its DER
// form otherwise. The input must be exactly one element.
func toDER(in []byte) ([]byte, error) {
	n := &berNormaliser{in: in}
	end, size, err := n.measure(0, 0)
	if err != nil {
		return nil, err
	}
	if end != len(in) {
		return nil, fmt.Errorf("ber: %d bytes after the element", len(in)-end)
	}
	if !n.changed {
		return in, nil
	}
	out := make([]byte, 0, size)
	if _, out, err = n.emit(0, out); err != nil {
		return nil, err
	}
	if len(out) != size {
		return nil, fmt.Errorf("ber: encoded %d bytes, measured %d", len(out), size)
	}
	return out, nil
}

// berNormaliser measures the DER form in a first pass (lens holds the DER
// content length of each constructed element, in pre-order) and writes it
// in a second, so that nothing is encoded twice.
type berNormaliser struct {
	in       []byte
	lens     []int
	cursor   int
	elements int
	changed  bool
}

type berHeader struct {
	tag         []byte // the identifier octets
	universal   bool
	constructed bool
	number      uint32
	length      int // -1 for the indefinite form
	start       int // the first content octet
}

func (n *berNormaliser) header(pos int) (berHeader, error) {
	in := n.in
	var h berHeader
	if pos >= len(in) {
		return h, errBERTruncated
	}
	b := in[pos]
	p := pos + 1
	h.universal = b>>6 == 0
	h.constructed = b&0x20 != 0
	h.number = uint32(b & 0x1f)
	if h.number == 0x1f {
		h.number = 0
		for i := 0; ; i++ {
			if p >= len(in) {
				return h, errBERTruncated
			}
			c := in[p]
			p++
			if i == 0 && c == 0x80 || i == 4 {
				return h, errors.New("ber: tag number not in its shortest form or too large")
			}
			h.number = h.number<<7 | uint32(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
		if h.number < 0x1f {
			return h, errors.New("ber: low tag number in the high form")
		}
	}
	if h.universal && h.number == 0 {
		return h, errors.New("ber: unexpected end-of-contents")
	}
	h.tag = in[pos:p]
	if p >= len(in) {
		return h, errBERTruncated
	}
	l := in[p]
	p++
	switch {
	case l < 0x80:
		h.length = int(l)
	case l == 0x80:
		if !h.constructed {
			return h, errors.New("ber: indefinite length on a primitive element")
		}
		h.length = -1
		n.changed = true
	case l == 0xff:
		return h, errors.New("ber: reserved length octet")
	default:
		k := int(l & 0x7f)
		if k > 4 {
			return h, errors.New("ber: length too large")
		}
		if p+k > len(in) {
			return h, errBERTruncated
		}
		var v uint64
		for _, c := range in[p : p+k] {
			v = v<<8 | uint64(c)
		}
		if v < 0x80 || in[p] == 0 {
			n.changed = true // a length in more octets than it needs
		}
		p += k
		if v > uint64(len(in)-p) {
			return h, errBERTruncated
		}
		h.length = int(v)
	}
	if h.length > len(in)-p {
		return h, errBERTruncated
	}
	h.start = p
	return h, nil
}

// joined reports whether a constructed element is a string that DER wants
// primitive: OCTET STRING and the restricted character strings.
func (h berHeader) joined() bool {
	if !h.universal || !h.constructed {
		return false
	}
	switch h.number {
	case 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30:
		return true
	}
	return false
}

// children calls fn on each element inside a constructed element, fn
// returning where that element ends; it returns where the parent ends.
func (n *berNormaliser) children(h berHeader, fn func(pos int) (int, error)) (int, error) {
	p := h.start
	limit := h.start + h.length
	for {
		if h.length < 0 {
			if p+1 < len(n.in) && n.in[p] == 0 && n.in[p+1] == 0 {
				return p + 2, nil
			}
		} else if p == limit {
			return p, nil
		}
		end, err := fn(p)
		if err != nil {
			return 0, err
		}
		if h.length >= 0 && end > limit {
			return 0, errors.New("ber: an element runs past its parent")
		}
		p = end
	}
}

func (n *berNormaliser) enter(depth int) error {
	if depth > maxBERDepth {
		return errors.New("ber: nested too deep")
	}
	n.elements++
	if n.elements > maxBERElements {
		return errors.New("ber: too many elements")
	}
	return nil
}

// measure returns where the element at pos ends and the size of its DER form.
func (n *berNormaliser) measure(pos, depth int) (end, size int, err error) {
	if err := n.enter(depth); err != nil {
		return 0, 0, err
	}
	h, err := n.header(pos)
	if err != nil {
		return 0, 0, err
	}
	if !h.constructed {
		return h.start + h.length, len(h.tag) + lengthSize(h.length) + h.length, nil
	}
	slot := len(n.lens)
	n.lens = append(n.lens, 0)
	joined := h.joined()
	if joined {
		n.changed = true
	}
	content := 0
	end, err = n.children(h, func(p int) (int, error) {
		var e, s int
		var err error
		if joined {
			e, s, err = n.segment(p, depth+1, h.number)
		} else {
			e, s, err = n.measure(p, depth+1)
		}
		content += s
		return e, err
	})
	if err != nil {
		return 0, 0, err
	}
	n.lens[slot] = content
	return end, len(h.tag) + lengthSize(content) + content, nil
}

// segment measures one segment of a constructed string: it returns where it
// ends and how many content octets it adds.
func (n *berNormaliser) segment(pos, depth int, number uint32) (end, size int, err error) {
	if err := n.enter(depth); err != nil {
		return 0, 0, err
	}
	h, err := n.header(pos)
	if err != nil {
		return 0, 0, err
	}
	if !h.universal || h.number != 4 && h.number != number {
		return 0, 0, errors.New("ber: a string segment of another type")
	}
	if !h.constructed {
		return h.start + h.length, h.length, nil
	}
	end, err = n.children(h, func(p int) (int, error) {
		e, s, err := n.segment(p, depth+1, number)
		size += s
		return e, err
	})
	return end, size, err
}

// emit appends the DER form of the element at pos, as measured.
func (n *berNormaliser) emit(pos int, out []byte) (int, []byte, error) {
	h, err := n.header(pos)
	if err != nil {
		return 0, nil, err
	}
	if !h.constructed {
		out = append(out, h.tag...)
		out = appendLength(out, h.length)
		return h.start + h.length, append(out, n.in[h.start:h.start+h.length]...), nil
	}
	if n.cursor >= len(n.lens) {
		return 0, nil, errors.New("ber: encoder out of step")
	}
	content := n.lens[n.cursor]
	n.cursor++
	if h.joined() {
		out = append(out, h.tag[0]&^0x20)
		out = append(out, h.tag[1:]...)
		out = appendLength(out, content)
		end, err := n.children(h, func(p int) (int, error) {
			var e int
			var err error
			e, out, err = n.emitSegment(p, out)
			return e, err
		})
		return end, out, err
	}
	out = append(out, h.tag...)
	out = appendLength(out, content)
	end, err := n.children(h, func(p int) (int, error) {
		var e int
		var err error
		e, out, err = n.emit(p, out)
		return e, err
	})
	return end, out, err
}

func (n *berNormaliser) emitSegment(pos int, out []byte) (int, []byte, error) {
	h, err := n.header(pos)
	if err != nil {
		return 0, nil, err
	}
	if !h.constructed {
		return h.start + h.length, append(out, n.in[h.start:h.start+h.length]...), nil
	}
	end, err := n.children(h, func(p int) (int, error) {
		var e int
		var err error
		e, out, err = n.emitSegment(p, out)
		return e, err
	})
	return end, out, err
}

// lengthSize is the size of a DER length field.
func lengthSize(l int) int {
	if l < 0x80 {
		return 1
	}
	k := 1
	for ; l > 0xff; l >>= 8 {
		k++
	}
	return 1 + k
}

func appendLength(out []byte, l int) []byte {
	if l < 0x80 {
		return append(out, byte(l))
	}
	k := lengthSize(l) - 1
	out = append(out, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		out = append(out, byte(l>>(8*i)))
	}
	return out
}
