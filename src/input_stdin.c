/* input_stdin: being written. */
