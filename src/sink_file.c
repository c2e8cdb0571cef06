/* sink_file: being written. */
