package function

import "fmt"

// Handle returns the response for one request body.
func Handle(req []byte) string {
	return fmt.Sprintf("Hello from Go: %s", string(req))
}
