/* input_unix: being written. */
