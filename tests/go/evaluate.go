// Evaluates a Go text/template as the External Secrets Operator's template engine v2 does:
// text/template with sprig's functions, a missing key an error. Reads {"template": ..., "data":
// {...}} as JSON on stdin and writes the result. Built by tests/go_template.py.
package main

import (
	"encoding/json"
	"os"
	"text/template"

	"github.com/Masterminds/sprig"
)

func main() {
	var input struct {
		Template string            `json:"template"`
		Data     map[string]string `json:"data"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&input); err != nil {
		os.Stderr.WriteString(err.Error())
		os.Exit(2)
	}
	t, err := template.New("t").Option("missingkey=error").Funcs(sprig.TxtFuncMap()).Parse(input.Template)
	if err != nil {
		os.Stderr.WriteString(err.Error())
		os.Exit(1)
	}
	if err := t.Execute(os.Stdout, input.Data); err != nil {
		os.Stderr.WriteString(err.Error())
		os.Exit(1)
	}
}
