package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"

	"edobot/core/pdfintake"
)

// A multipart upload is read here part by part rather than by
// Request.ParseMultipartForm, which spools files into the system's temporary
// directory whatever EDOBOT_TMPDIR says, under names nobody can tell from
// other programs' files. The file part goes into the service's directory
// under the spool prefix, which serve clears of what a killed process left.

// SpoolPrefix begins the name of every file an upload is spooled to.
const SpoolPrefix = "edobot-upload-"

const (
	// maxFieldBytes bounds one form value: the longest text field (a
	// webhook URL, 2048 characters) fits many times over.
	maxFieldBytes = 64 << 10
	// maxParts bounds how many parts a form may have.
	maxParts = 64
)

// errBadForm is a multipart body that cannot be read as a form.
var errBadForm = errors.New("malformed multipart form")

// upload is a read multipart form: the first value of each field, and the
// file part spooled to disk.
type upload struct {
	values map[string]string
	file   *os.File // nil without a file part
	// fileName is the file part's name as the client gave it (not cleaned).
	fileName string
}

// value returns a field's value and whether the form had the field.
func (u *upload) value(name string) (string, bool) {
	v, ok := u.values[name]
	return v, ok
}

// Close removes the spooled file.
func (u *upload) Close() {
	if u.file != nil {
		u.file.Close()
		os.Remove(u.file.Name())
		u.file = nil
	}
}

// readUpload reads a multipart form whose file part may be up to the
// intake's limit; the body limit lets the intake see one byte too many and
// refuse in its own words. The caller closes the upload.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request) (*upload, error) {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/form-data" || params["boundary"] == "" {
		return nil, errBadForm
	}
	body := http.MaxBytesReader(w, r.Body, pdfintake.MaxSize+1<<20)
	mr := multipart.NewReader(body, params["boundary"])
	u := &upload{values: map[string]string{}}
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			return u, nil
		}
		if err == nil && n >= maxParts {
			err = fmt.Errorf("%w: more than %d parts", errBadForm, maxParts)
		}
		if err == nil {
			err = s.readPart(u, part)
			part.Close()
		}
		if err != nil {
			u.Close()
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, pdfintake.ErrTooLarge
			}
			if !errors.Is(err, errBadForm) && !errors.Is(err, pdfintake.ErrTooLarge) {
				// A form the multipart reader cannot follow is the
				// client's fault; a disk that cannot take the spool is not.
				var pathErr *os.PathError
				if !errors.As(err, &pathErr) {
					err = fmt.Errorf("%w: %v", errBadForm, err)
				}
			}
			return nil, err
		}
	}
}

func (s *Server) readPart(u *upload, part *multipart.Part) error {
	name := part.FormName()
	if name == "" {
		return nil
	}
	if name == "file" {
		if u.file != nil {
			return nil // only the first file counts
		}
		u.fileName = part.FileName()
		return s.spoolPart(u, part)
	}
	if _, seen := u.values[name]; seen {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		return err
	}
	if len(b) > maxFieldBytes {
		return fmt.Errorf("%w: field %q over %d bytes", errBadForm, name, maxFieldBytes)
	}
	u.values[name] = string(b)
	return nil
}

// spoolPart copies the file part to a spool file, at most one byte more
// than the intake takes.
func (s *Server) spoolPart(u *upload, part *multipart.Part) error {
	dir := ""
	if s.Service != nil {
		dir = s.Service.TempDir()
	}
	f, err := os.CreateTemp(dir, SpoolPrefix+"*")
	if err != nil {
		return err
	}
	u.file = f
	if _, err := io.Copy(f, io.LimitReader(part, pdfintake.MaxSize+1)); err != nil {
		return err
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}

// isMultipart reports whether the request says it carries a form with files.
func isMultipart(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/")
}
